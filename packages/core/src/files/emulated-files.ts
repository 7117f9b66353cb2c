import type { ExecOptions, ExecResult } from "../exec-types.js";
import type { BackendCapabilitiesV1 } from "../spec/v1/capabilities.js";
import type { SandboxFilesV1 } from "../spec/v1/files.js";

/** Runs a command in the sandbox, as `Sandbox.exec` does. */
export type ExecFunction = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** File operations built on `exec` and POSIX shell tools inside the sandbox. */
export function createEmulatedFiles(_exec: ExecFunction, _capabilities: BackendCapabilitiesV1): SandboxFilesV1 {
  throw new Error("not implemented");
}
