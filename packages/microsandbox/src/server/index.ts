export { createMicrosandboxServer } from "./microsandbox-server.js";
export type { MicrosandboxServer, MicrosandboxServerOptions, CreateRequestMapper, StartContext } from "./server-options.js";
export type { StartConfig } from "./params.js";
export {
  issueMicrosandboxApiKey,
  verifyApiKeyToken,
  generateServerSecret,
  API_KEY_PREFIX,
  ALL_NAMESPACES,
  type IssueApiKeyOptions,
  type ApiKeyClaims,
} from "./api-keys.js";
