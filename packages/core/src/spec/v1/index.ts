export type { CallContextV1 } from "./call-context.js";
export type { BackendCapabilitiesV1, CapabilityName } from "./capabilities.js";
export type { ByteSourceV1, SandboxFilesV1 } from "./files.js";
export type { SandboxBackendV1, SandboxConnectionV1 } from "./backend.js";
export type {
  CreateRequestV1,
  ExecRequestV1,
  ExecResultV1,
  FileEntryV1,
  HealthV1,
  KeepAliveResultV1,
  MetricsV1,
  OutputChunkV1,
  ResourceRequestV1,
  RunCodeRequestV1,
  SandboxInfoV1,
} from "./types.js";
