import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { SandboxFilesV1 } from "../spec/v1/files.js";
import type { TransferResult } from "./files-types.js";

/** Limits of a directory transfer. */
export interface TransferLimits {
  readonly maxBytes: number;
  readonly maxEntries: number;
}

/** Copies `localDir` into the sandbox directory `remoteDir`, file by file. */
export async function uploadDirectory(
  _files: SandboxFilesV1,
  _localDir: string,
  _remoteDir: string,
  _limits: TransferLimits,
  _call: CallContextV1,
): Promise<TransferResult> {
  throw new Error("not implemented");
}

/** Copies the sandbox directory `remoteDir` into `localDir`, treating every name as hostile. */
export async function downloadDirectory(
  _files: SandboxFilesV1,
  _remoteDir: string,
  _localDir: string,
  _limits: TransferLimits,
  _call: CallContextV1,
): Promise<TransferResult> {
  throw new Error("not implemented");
}
