import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SandboxError } from "../errors/sandbox-error.ts";
import type { CallContextV1, ExecRequestV1, SandboxConnectionV1 } from "../spec/v1/index.ts";
import { copyStagingIntoSandbox } from "./staging-copy.ts";

const call = { signal: new AbortController().signal } as unknown as CallContextV1;

let staging: string;
beforeEach(async () => {
  staging = await mkdtemp(join(tmpdir(), "server-kit-staging-"));
  await mkdir(join(staging, "dir"));
  await writeFile(join(staging, "dir", "run.sh"), "echo hi\n", { mode: 0o750 });
  await symlink("dir/run.sh", join(staging, "link"));
});
afterEach(async () => {
  await rm(staging, { recursive: true, force: true });
});

/** A connection whose file API records what it is asked to do; `lnExit` is the exit code of `ln`. */
function recordingConnection(lnExit = 0): { connection: SandboxConnectionV1; calls: string[] } {
  const calls: string[] = [];
  const files = {
    mkdir: async (path: string) => void calls.push(`mkdir ${path}`),
    write: async (path: string, content: AsyncIterable<Uint8Array>, options: { readonly mode?: number }) => {
      let text = "";
      for await (const chunk of content) text += Buffer.from(chunk).toString("utf8");
      calls.push(`write ${path} ${(options.mode ?? 0).toString(8)} ${JSON.stringify(text)}`);
    },
    remove: async (path: string) => void calls.push(`remove ${path}`),
  };
  const exec = async (request: ExecRequestV1) => {
    calls.push(`exec ${request.cwd ?? ""} ${request.argv.join(" ")}`);
    return { exitCode: lnExit, stdout: "", stderr: "", stdoutTruncated: false, stderrTruncated: false };
  };
  return { connection: { files, exec } as unknown as SandboxConnectionV1, calls };
}

describe("copyStagingIntoSandbox", () => {
  it("copies directories, files with their mode, and links last through ln -s", async () => {
    const { connection, calls } = recordingConnection();
    await copyStagingIntoSandbox(connection, staging, "/box/dest", call);
    expect(calls).toEqual([
      "mkdir /box/dest",
      "mkdir /box/dest/dir",
      'write /box/dest/dir/run.sh 750 "echo hi\\n"',
      "remove /box/dest/link",
      "exec /box/dest ln -s -- dir/run.sh link",
    ]);
  });

  it("fails with LINK_FAILED when ln fails", async () => {
    const { connection } = recordingConnection(1);
    const error: unknown = await copyStagingIntoSandbox(connection, staging, "/box/dest", call).catch((caught: unknown) => caught);
    expect(SandboxError.isInstance(error) && error.code).toBe("LINK_FAILED");
  });

  it("fails with FILES_UNSUPPORTED on a backend without file operations", async () => {
    const connection = { exec: async () => ({}) } as unknown as SandboxConnectionV1;
    const error: unknown = await copyStagingIntoSandbox(connection, staging, "/box/dest", call).catch((caught: unknown) => caught);
    expect(SandboxError.isInstance(error) && error.code).toBe("FILES_UNSUPPORTED");
  });
});
