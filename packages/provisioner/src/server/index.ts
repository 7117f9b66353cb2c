/**
 * @sandkit/provisioner/server: a server compatible with DeerFlow's remote provisioner (the
 * control plane, `/api/sandboxes`) that gives every sandbox its own AIO-sandbox data plane
 * (`/v1/sandbox`, `/v1/shell/exec`, `/v1/bash/exec`, `/v1/file/*`), over any sandkit backend
 * (the local one by default). For developing and testing against the protocol without
 * Kubernetes. See docs/server.md.
 * @packageDocumentation
 */
export { createProvisionerServer } from "./create-server.js";
export type { ProvisionerServer } from "./provisioner-server.js";
export type { ProvisionerServerLogger, ProvisionerServerOptions } from "./options.js";
export { SANDBOX_ID_PATTERN, type SandboxResponse } from "./control-plane.js";
export type { PodStatus } from "./pod-registry.js";
export { AIO_API_VERSION } from "./data-plane.js";
export type { BashExecData, ShellExecData } from "./aio-exec.js";
export type { FileOperationError } from "./aio-envelope.js";
export type { AioFileInfo } from "./aio-files.js";
export type { GrepMatch } from "./aio-grep.js";
