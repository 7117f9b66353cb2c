import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { packDirectory } from "../archive/index.js";
import { SandboxError } from "../errors/index.js";
import type { CallContextV1, SandboxConnectionV1 } from "../spec/v1/index.js";

/** Output kept from the `ln` that makes a link on backends without native archives. */
const LINK_OUTPUT_BYTES = 4096;
/** Time one `ln` may take. */
const LINK_TIMEOUT_MS = 30_000;

/**
 * Copies a checked staging directory (made by `extractArchive`) into the sandbox directory
 * `dest`, through the backend's file API only:
 * - with `files.uploadArchive`, the staging tree is packed again and handed over whole;
 * - otherwise directory by directory (`files.mkdir`) and file by file (`files.write`, streamed,
 *   permission bits kept), and symbolic links last, once every file is in place, made with
 *   `ln -s` through exec (the file API has no link operation). The links were checked by the
 *   archive layer: relative, and resolving inside the archive.
 * Nothing in the staging tree is followed.
 */
export async function copyStagingIntoSandbox(connection: SandboxConnectionV1, staging: string, dest: string, call: CallContextV1): Promise<void> {
  const files = connection.files;
  if (files === undefined) {
    throw new SandboxError("this backend has no file operations", { operation: "upload" }, "FILES_UNSUPPORTED");
  }
  if (files.uploadArchive !== undefined) {
    await files.uploadArchive(dest, packDirectory(staging, { symlinks: "preserve", operation: "upload" }), call);
    return;
  }
  await files.mkdir(dest, call);
  const links: { readonly path: string; readonly target: string }[] = [];
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(staging, relative))).sort();
    for (const name of names) {
      const rel = relative === "" ? name : `${relative}/${name}`;
      const hostPath = join(staging, rel);
      const sandboxPath = posix.join(dest, rel);
      const stats = await lstat(hostPath);
      if (stats.isDirectory()) {
        await files.mkdir(sandboxPath, call);
        await walk(rel);
      } else if (stats.isFile()) {
        await files.write(sandboxPath, createReadStream(hostPath, { highWaterMark: 256 * 1024 }), { mode: stats.mode & 0o777 }, call);
      } else if (stats.isSymbolicLink()) {
        links.push({ path: sandboxPath, target: await readlink(hostPath) });
      }
      // extractArchive makes nothing else.
    }
  };
  await walk("");
  for (const link of links) await makeLink(connection, link.path, link.target, call);
}

/** Replaces whatever non-directory is at `path` with a symbolic link to `target`, with `ln -s` run in its directory. */
async function makeLink(connection: SandboxConnectionV1, path: string, target: string, call: CallContextV1): Promise<void> {
  await connection.files?.remove(path, { recursive: false }, call);
  const result = await connection.exec(
    {
      argv: ["ln", "-s", "--", target, posix.basename(path)],
      cwd: posix.dirname(path),
      timeoutMs: LINK_TIMEOUT_MS,
      maxOutputBytes: LINK_OUTPUT_BYTES,
    },
    call,
  );
  if (result.exitCode !== 0) {
    throw new SandboxError(`making the symbolic link ${JSON.stringify(path)} failed (exit ${String(result.exitCode)})`, { operation: "upload" }, "LINK_FAILED");
  }
}
