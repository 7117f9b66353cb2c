import { mkdir } from "node:fs/promises";
import { extractArchive } from "../archive/extract-archive.js";
import { packDirectory } from "../archive/pack-directory.js";
import type { CallContextV1 } from "../spec/v1/call-context.js";
import type { SandboxFilesV1 } from "../spec/v1/files.js";
import type { TransferLimits } from "./directory-transfer.js";
import type { TransferResult } from "./files-types.js";

type ArchiveFiles = SandboxFilesV1 & Required<Pick<SandboxFilesV1, "uploadArchive" | "downloadArchive">>;

/** Whether the backend moves directories as archives natively. */
export function hasArchiveTransfer(files: SandboxFilesV1): files is ArchiveFiles {
  return typeof files.uploadArchive === "function" && typeof files.downloadArchive === "function";
}

/**
 * Uploads `localDir` as one streamed tar: links in the local tree are left out (never followed),
 * like the per-file path, and the limits stop the stream with `UnsafeArchiveError`.
 */
export async function uploadDirectoryArchive(
  files: ArchiveFiles,
  localDir: string,
  remoteDir: string,
  limits: TransferLimits,
  call: CallContextV1,
): Promise<TransferResult> {
  let fileCount = 0;
  let directories = 0;
  let bytes = 0;
  const skipped: string[] = [];
  const archive = packDirectory(localDir, {
    ...limits,
    signal: call.signal,
    operation: "files.upload",
    symlinks: "skip",
    onSkip: (entry) => skipped.push(entry.path),
    onEntry: (entry) => {
      if (entry.type === "directory") directories += 1;
      else if (entry.type === "file") {
        fileCount += 1;
        bytes += entry.size;
      }
    },
  });
  await files.uploadArchive(remoteDir, archive, call);
  return { files: fileCount, directories, bytes, skipped };
}

/**
 * Downloads `remoteDir` as one streamed tar into `localDir` through the hostile-input extractor:
 * names that would leave `localDir` are refused with `UnsafeArchiveError`; links and special files
 * from the sandbox are skipped and listed, never created on the host.
 */
export async function downloadDirectoryArchive(
  files: ArchiveFiles,
  remoteDir: string,
  localDir: string,
  limits: TransferLimits,
  call: CallContextV1,
): Promise<TransferResult> {
  await mkdir(localDir, { recursive: true });
  const stream = await files.downloadArchive(remoteDir, call);
  const result = await extractArchive(stream, localDir, {
    ...limits,
    signal: call.signal,
    operation: "files.download",
    symlinks: "skip",
    specialFiles: "skip",
  });
  return { files: result.files, directories: result.directories, bytes: result.bytes, skipped: result.skipped };
}
