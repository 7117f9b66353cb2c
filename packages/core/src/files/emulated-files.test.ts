import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortedError, FileNotFoundError, ProtocolError, ServerError, ValidationError } from "../errors/index.js";
import type { ExecOptions, ExecResult } from "../exec-types.js";
import { createCallContext } from "../internal/call-context.js";
import type { BackendCapabilitiesV1 } from "../spec/v1/capabilities.js";
import { type ExecFunction, createEmulatedFiles } from "./emulated-files.js";

/**
 * A stand-in for a sandbox's exec: runs the argv on this host (no shell of ours), with stdin,
 * the signal and the output cap. The tests only touch paths under a fresh temp directory.
 */
function hostExec(log: { argvBytes: number; stdinBytes: number; options: ExecOptions }[]): ExecFunction {
  return (argv, options) => {
    log.push({ argvBytes: argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0), stdinBytes: options.stdin === undefined ? 0 : Buffer.byteLength(options.stdin as string), options });
    return new Promise<ExecResult>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], signal: options.signal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin as string));
      child.on("close", (code, signal) => {
        const max = options.maxOutputBytes ?? 1024 * 1024;
        const stdout = Buffer.concat(out);
        resolve({
          exitCode: code,
          signal,
          stdout: stdout.subarray(0, max).toString(),
          stderr: Buffer.concat(err).toString(),
          truncated: stdout.length > max,
          stdoutTruncated: stdout.length > max,
          stderrTruncated: false,
          durationMs: Date.now() - started,
          timedOut: false,
        });
      });
    });
  };
}

function caps(stdin: boolean): BackendCapabilitiesV1 {
  return { exec: { stream: "buffered", stdin, env: true, cwd: true }, files: "emulated", ttl: "none", metrics: false, codeLanguages: [], attach: false, isolation: "none" };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sandkit-emulated-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.each([
  ["stdin", true],
  ["argv", false],
])("createEmulatedFiles (data on %s)", (_mode, useStdin) => {
  it("writes and reads binary content byte for byte, through a temp name, creating parents", async () => {
    const log: Parameters<typeof hostExec>[0] = [];
    const files = createEmulatedFiles(hostExec(log), caps(useStdin));
    const call = createCallContext({});
    const all = new Uint8Array(256).map((_, i) => i);
    const path = join(root, "a", "b", "bytes.bin");
    await files.write(path, all, {}, call);
    expect([...(await readFile(path))]).toEqual([...all]);
    expect([...(await files.read(path, { maxBytes: 1000 }, call))]).toEqual([...all]);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    // Every exec got the call's signal.
    for (const entry of log) expect(entry.options.signal).toBe(call.signal);
    // No temp file left.
    expect((await files.list(join(root, "a", "b"), call)).map((e) => e.name)).toEqual(["bytes.bin"]);
  });

  it("moves ~3 MiB in chunks: no request over 256 KiB of argv, streamed sources accepted", async () => {
    const log: Parameters<typeof hostExec>[0] = [];
    const files = createEmulatedFiles(hostExec(log), caps(useStdin));
    const call = createCallContext({});
    const size = 3 * 1024 * 1024 + 123;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) data[i] = (i * 7919) % 251;
    async function* source() {
      for (let i = 0; i < size; i += 100_000) yield data.subarray(i, i + 100_000);
    }
    const path = join(root, "big.bin");
    await files.write(path, source(), { mode: 0o600 }, call);
    expect(Buffer.compare(await readFile(path), data)).toBe(0);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const writes = log.length;
    expect(writes).toBeGreaterThan(1);
    for (const entry of log) expect(entry.argvBytes).toBeLessThanOrEqual(256 * 1024 + 4096);
    if (useStdin) expect(log.some((e) => e.stdinBytes > 0)).toBe(true);
    const back = await files.read(path, { maxBytes: size }, call);
    expect(Buffer.compare(back, data)).toBe(0);
    expect(log.length - writes).toBeGreaterThan(1);
  });

  it("writes empty files and replaces existing ones", async () => {
    const files = createEmulatedFiles(hostExec([]), caps(useStdin));
    const call = createCallContext({});
    const path = join(root, "f");
    await files.write(path, new TextEncoder().encode("old content"), {}, call);
    await files.write(path, new Uint8Array(0), {}, call);
    expect((await readFile(path)).length).toBe(0);
    expect((await files.read(path, { maxBytes: 10 }, call)).length).toBe(0);
  });
});

describe("createEmulatedFiles", () => {
  const files = () => createEmulatedFiles(hostExec([]), caps(true));

  it("read refuses files over maxBytes before reading them", async () => {
    const path = join(root, "f");
    await writeFile(path, "0123456789");
    const error = await rejection(files().read(path, { maxBytes: 5 }, createCallContext({})));
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: "maxBytes" });
  });

  it("missing paths are FileNotFoundError; a directory where a file is expected is ValidationError", async () => {
    const call = createCallContext({});
    const missing = join(root, "missing");
    // Start each operation only when it is awaited, so no rejection is left unhandled meanwhile.
    for (const op of [() => files().read(missing, { maxBytes: 10 }, call), () => files().list(missing, call)]) {
      const error = await rejection(op());
      expect(FileNotFoundError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ path: missing });
    }
    await mkdir(join(root, "d"));
    expect(ValidationError.isInstance(await rejection(files().read(join(root, "d"), { maxBytes: 10 }, call)))).toBe(true);
    expect(ValidationError.isInstance(await rejection(files().write(join(root, "d"), new Uint8Array(1), {}, call)))).toBe(true);
    await writeFile(join(root, "plain"), "x");
    expect(ValidationError.isInstance(await rejection(files().list(join(root, "plain"), call)))).toBe(true);
    expect(ValidationError.isInstance(await rejection(files().mkdir(join(root, "plain"), call)))).toBe(true);
  });

  it("lists names with spaces, newlines, leading dashes, dots and globs, with types, sizes and modes", async () => {
    const dir = join(root, "odd");
    await mkdir(dir);
    const names = ["a b", "new\nline", "-rf", ".hidden", "..dots", "*", "tab\there", "ünï"];
    for (const name of names) await writeFile(join(dir, name), name);
    await mkdir(join(dir, "sub"));
    await symlink("/etc/passwd", join(dir, "link"));
    const entries = await files().list(dir, createCallContext({}));
    expect(entries.map((e) => e.name).sort()).toEqual([...names, "sub", "link"].sort());
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get("new\nline")).toMatchObject({ type: "file", size: Buffer.byteLength("new\nline"), path: join(dir, "new\nline"), mode: 0o644 });
    expect(byName.get("sub")).toMatchObject({ type: "directory", size: 0 });
    expect(byName.get("link")).toMatchObject({ type: "symlink" });
    expect(byName.get("ünï")?.modifiedAt).toBeInstanceOf(Date);
    expect(await files().list(join(root, "odd", "sub"), createCallContext({}))).toEqual([]);
  });

  it("remove: files, links (not their targets), directories only with recursive; missing is fine", async () => {
    const call = createCallContext({});
    const f = files();
    await writeFile(join(root, "target"), "keep");
    await symlink(join(root, "target"), join(root, "link"));
    await f.remove(join(root, "link"), { recursive: false }, call);
    expect(await readFile(join(root, "target"), "utf8")).toBe("keep");
    await mkdir(join(root, "d", "e"), { recursive: true });
    expect(ValidationError.isInstance(await rejection(f.remove(join(root, "d"), { recursive: false }, call)))).toBe(true);
    await f.remove(join(root, "d"), { recursive: true }, call);
    await f.remove(join(root, "missing"), { recursive: false }, call);
    expect((await f.list(root, call)).map((e) => e.name)).toEqual(["target"]);
  });

  it("mkdir creates parents and accepts an existing directory", async () => {
    const call = createCallContext({});
    await files().mkdir(join(root, "x", "y", "z"), call);
    await files().mkdir(join(root, "x", "y", "z"), call);
    expect((await stat(join(root, "x", "y", "z"))).isDirectory()).toBe(true);
  });

  it("other failures are ServerError with the stderr excerpt", async () => {
    const call = createCallContext({});
    await writeFile(join(root, "file"), "x");
    const error = await rejection(files().write(join(root, "file", "child"), new Uint8Array(1), {}, call));
    expect(ServerError.isInstance(error)).toBe(true);
    expect((error as ServerError).bodyExcerpt).toMatch(/Not a directory|File exists/);
    expect((error as ServerError).message).toContain("files.write");
  });

  it("garbage output from the sandbox is a ProtocolError", async () => {
    const liar: ExecFunction = async () => ({ exitCode: 0, signal: null, stdout: "12\n!!!not base64!!!", stderr: "", truncated: false, stdoutTruncated: false, stderrTruncated: false, durationMs: 1, timedOut: false });
    const emulated = createEmulatedFiles(liar, caps(true));
    expect(ProtocolError.isInstance(await rejection(emulated.read("/x", { maxBytes: 100 }, createCallContext({}))))).toBe(true);
    expect(ProtocolError.isInstance(await rejection(emulated.list("/x", createCallContext({}))))).toBe(true);
    const noSize: ExecFunction = async (argv, options) => ({ ...(await liar(argv, options)), stdout: "not-a-size\n" });
    expect(ProtocolError.isInstance(await rejection(createEmulatedFiles(noSize, caps(true)).read("/x", { maxBytes: 100 }, createCallContext({}))))).toBe(true);
  });

  it("a hostile sandbox that sends more than maxBytes is refused", async () => {
    // Claims 4 bytes, sends a full chunk each time: the read must stop at maxBytes.
    const chunk = Buffer.alloc(768 * 1024, 1).toString("base64");
    const liar: ExecFunction = async () => ({ exitCode: 0, signal: null, stdout: `4\n${chunk}`, stderr: "", truncated: false, stdoutTruncated: false, stderrTruncated: false, durationMs: 1, timedOut: false });
    const error = await rejection(createEmulatedFiles(liar, caps(true)).read("/x", { maxBytes: 1000 }, createCallContext({})));
    expect(ValidationError.isInstance(error)).toBe(true);
  });

  it("passes the call's signal: an aborted call stops the exec", async () => {
    const controller = new AbortController();
    const call = createCallContext({ signal: controller.signal });
    controller.abort();
    const error = await rejection(files().list(root, call));
    // The host stand-in rejects with Node's AbortError; Sandbox maps it to AbortedError.
    expect((error as Error).name === "AbortError" || AbortedError.isInstance(error)).toBe(true);
  });
});
