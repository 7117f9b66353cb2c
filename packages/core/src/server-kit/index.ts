/**
 * @sandkit/core/server-kit: the pieces the protocol servers of the adapter packages share
 * (request bodies, responses, copying into and archiving out of a sandbox). Server code only:
 * kept out of the main entry so clients do not load it.
 * @packageDocumentation
 */
export { bodyChunks, declaredLength, drainBody, readBoundedBody } from "./body-stream.js";
export { sendEmpty, sendJson, sendText, type JsonResponseOptions, type ResponseHeaders, type TextResponseOptions } from "./responses.js";
export { copyStagingIntoSandbox } from "./staging-copy.js";
export { openSandboxArchive, staysInside, type SandboxArchiveOptions } from "./sandbox-archive.js";
export { listen, serverUrl, settleWithin } from "./listen.js";
export { optionChecks, type OptionChecks, type ServerLogger } from "./option-checks.js";
export { serveHttp, type HttpServerHandle, type ServeHttpOptions, type StopOptions } from "./http-server.js";
