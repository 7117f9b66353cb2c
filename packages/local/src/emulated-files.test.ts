import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BackendCapabilitiesV1,
  type CallContextV1,
  createCallContext,
  createSandbox,
  FileNotFoundError,
  type Sandbox,
  type SandboxBackendV1,
  type SandboxConnectionV1,
  type SandboxFilesV1,
  type SandboxInfoV1,
  UnsafeArchiveError,
  ValidationError,
} from "@sandkit/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { local } from "./index.ts";

/**
 * Core's file emulation (`files: "emulated"`, everything through `exec` and shell tools) against
 * real processes: a local backend wrapped so that its connection has no native `files`.
 *
 * With bubblewrap the sandbox sees its workspace at `/workspace`, as a remote sandbox would. With
 * isolation `none` commands see host paths, so the wrapper declares the workspace's host path as
 * the workdir: what a backend running on its own host would report.
 */
interface Emulated {
  readonly backend: SandboxBackendV1;
  /** The native file API of the last connection, to check the emulation against. */
  native(): SandboxFilesV1;
}

function emulated(inner: SandboxBackendV1, isolation: "none" | "bubblewrap", exec: Partial<BackendCapabilitiesV1["exec"]> = {}): Emulated {
  let lastNative: SandboxFilesV1 | undefined;
  const wrap = (connection: SandboxConnectionV1): SandboxConnectionV1 => {
    lastNative = connection.files;
    const info = (): SandboxInfoV1 => {
      const real = connection.info;
      const workdir = isolation === "none" ? String(real.details?.workspace) : real.workdir;
      return { ...real, workdir };
    };
    return {
      get info() {
        return info();
      },
      exec: (request, call) => connection.exec(request, call),
      release: () => connection.release?.() ?? Promise.resolve(),
    };
  };
  const backend: SandboxBackendV1 = {
    specificationVersion: "v1",
    name: "local-emulated",
    get capabilities(): BackendCapabilitiesV1 {
      const caps = inner.capabilities;
      return { ...caps, exec: { ...caps.exec, ...exec }, files: "emulated" };
    },
    create: async (request, call) => wrap(await inner.create(request, call)),
    attach: async (id, call) => wrap(await inner.attach(id, call)),
    destroy: (id, call) => inner.destroy(id, call),
    health: (call) => inner.health(call),
    close: () => inner.close(),
  };
  return {
    backend,
    native() {
      if (lastNative === undefined) throw new Error("no connection yet");
      return lastNative;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Every path under `dir`, relative and sorted; directories end in `/`, links in `@`. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await tree(join(dir, entry.name), `${rel}/`)));
    else if (entry.isSymbolicLink()) out.push(`${rel}@`);
    else out.push(rel);
  }
  return out.sort();
}

const bwrapAvailable = existsSync("/usr/bin/bwrap") && local({ isolation: "auto" }).capabilities.isolation === "namespace";

describe.each([
  ["none", true],
  ["bubblewrap", bwrapAvailable],
] as const)("emulated files over local (isolation: %s)", (isolation, available) => {
  let root: string;
  let scratch: string;
  let sbx: Sandbox;
  let wrapper: Emulated;
  let call: CallContextV1 & { dispose(): void };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `sandkit-emulated-${isolation}-`));
  });
  afterAll(async () => {
    const left = existsSync(root) ? await readdir(root) : [];
    await rm(root, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  beforeEach(async (context) => {
    if (!available) context.skip();
    wrapper = emulated(local({ isolation, root }), isolation);
    sbx = await createSandbox({ backend: wrapper.backend });
    scratch = await mkdtemp(join(tmpdir(), "sandkit-emulated-local-"));
    call = createCallContext({});
  });
  afterEach(async () => {
    if (!available) return;
    call.dispose();
    await sbx.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** The path the sandbox's commands see. */
  const abs = (path: string): string => `${sbx.info.workdir}/${path}`;
  /** The path the local backend's native file API takes. */
  const nativePath = (path: string): string => `/workspace/${path}`;

  it("writes and reads every byte value, unicode text and ~1 MiB, agreeing with the native file API", async () => {
    expect(sbx.capabilities.files).toBe("emulated");
    const bytes = new Uint8Array(256).map((_, i) => i);
    await sbx.files.write("bin/all-bytes.bin", bytes);
    expect([...(await sbx.files.read("bin/all-bytes.bin"))]).toEqual([...bytes]);
    expect([...(await wrapper.native().read(nativePath("bin/all-bytes.bin"), { maxBytes: 1000 }, call))]).toEqual([...bytes]);

    const text = "héllo wörld ✓ 日本語 🎉\n\0after-nul\r\n";
    await sbx.files.write("ünï/text.txt", text);
    expect(await sbx.files.read("ünï/text.txt", { encoding: "utf8" })).toBe(text);

    const big = new Uint8Array(1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31 + (i >> 8)) & 0xff;
    await sbx.files.write("big.bin", big);
    expect(Buffer.compare(await sbx.files.read("big.bin"), big)).toBe(0);
    expect(Buffer.compare(await wrapper.native().read(nativePath("big.bin"), { maxBytes: 2 * 1024 * 1024 }, call), big)).toBe(0);

    // The other way round: the native API writes, the emulation reads.
    await wrapper.native().write(nativePath("native.bin"), big.subarray(0, 300_000), {}, call);
    expect(Buffer.compare(await sbx.files.read("native.bin"), big.subarray(0, 300_000))).toBe(0);

    // Replacing a file leaves no temp files behind.
    await sbx.files.write("big.bin", "small");
    expect((await sbx.files.list()).map((e) => e.name).sort()).toEqual(["big.bin", "bin", "native.bin", "ünï"]);
  });

  it("moves data in argv when the backend takes no stdin", async () => {
    await sbx.close();
    wrapper = emulated(local({ isolation, root }), isolation, { stdin: false });
    sbx = await createSandbox({ backend: wrapper.backend });
    const data = new Uint8Array(600 * 1024).map((_, i) => (i * 7) & 0xff);
    await sbx.files.write("argv.bin", data, { mode: 0o755 });
    expect(Buffer.compare(await sbx.files.read("argv.bin"), data)).toBe(0);
    const [entry] = (await sbx.files.list()).filter((e) => e.name === "argv.bin");
    expect(entry).toMatchObject({ type: "file", size: data.length, mode: 0o755 });
  });

  it("lists names with spaces, newlines, leading dashes, globs and dots, with types and sizes", async () => {
    const names = ["a b", "new\nline", "-rf", "--", "*", ".hidden", "..dots", "tab\tname", "日本"];
    for (const name of names) await sbx.files.write(`odd/${name}`, name);
    await sbx.files.mkdir("odd/sub dir");
    await sbx.exec(["ln", "-s", "/etc/passwd", abs("odd/link")]);
    const entries = await sbx.files.list("odd");
    expect(entries.map((e) => e.name).sort()).toEqual([...names, "sub dir", "link"].sort());
    const byName = new Map(entries.map((e) => [e.name, e]));
    for (const name of names) expect(byName.get(name)).toMatchObject({ type: "file", size: Buffer.byteLength(name), path: abs(`odd/${name}`) });
    expect(byName.get("sub dir")).toMatchObject({ type: "directory", size: 0 });
    expect(byName.get("link")).toMatchObject({ type: "symlink" });
    expect(await sbx.files.exists("odd/new\nline")).toBe(true);
    expect(await sbx.files.exists("odd/new")).toBe(false);
  });

  it("removes files and directories, mkdirs with parents, and treats missing paths as the API says", async () => {
    await sbx.files.mkdir("a/b/c");
    await sbx.files.write("a/b/c/f.txt", "x");
    expect(ValidationError.isInstance(await rejection(sbx.files.remove("a")))).toBe(true);
    await sbx.files.remove("a/b/c/f.txt");
    expect(await sbx.files.exists("a/b/c/f.txt")).toBe(false);
    await sbx.files.remove("a", { recursive: true });
    expect(await sbx.files.exists("a")).toBe(false);
    await sbx.files.remove("never-existed");

    const missingRead = await rejection(sbx.files.read("missing.txt"));
    expect(FileNotFoundError.isInstance(missingRead)).toBe(true);
    expect(missingRead).toMatchObject({ path: abs("missing.txt") });
    expect(FileNotFoundError.isInstance(await rejection(sbx.files.list("missing-dir")))).toBe(true);
    await sbx.files.write("ten.txt", "0123456789");
    expect(ValidationError.isInstance(await rejection(sbx.files.read("ten.txt", { maxBytes: 4 })))).toBe(true);
    expect(ValidationError.isInstance(await rejection(sbx.files.read("../escape")))).toBe(true);
  });

  it("uploads and downloads a directory: binary, unicode and odd names, nested and empty directories; links skipped", async () => {
    const src = join(scratch, "src");
    await mkdir(join(src, "nested", "deeper"), { recursive: true });
    await mkdir(join(src, "empty"));
    await writeFile(join(src, "nested", "deeper", "all.bin"), new Uint8Array(256).map((_, i) => i));
    await writeFile(join(src, "name with\nnewline"), "nl");
    await writeFile(join(src, "ünï cødé.txt"), "✓\n");
    await writeFile(join(src, "big.bin"), Buffer.alloc(400 * 1024, 0xab));
    await symlink("/etc/passwd", join(src, "link-out"));
    const up = await sbx.files.upload(src, "project");
    expect(up).toMatchObject({ files: 4, directories: 3, bytes: 256 + 2 + 4 + 400 * 1024, skipped: [join(src, "link-out")] });
    expect(await sbx.files.read("project/nested/deeper/all.bin")).toEqual(new Uint8Array(256).map((_, i) => i));

    await sbx.exec(["ln", "-s", "/etc", abs("project/remote-link")]);
    const dest = join(scratch, "dest");
    const down = await sbx.files.download("project", dest);
    expect(down).toMatchObject({ files: 4, directories: 3, bytes: up.bytes, skipped: [abs("project/remote-link")] });
    const expected = (await tree(src)).filter((p) => p !== "link-out@");
    expect(await tree(dest)).toEqual(expected);
    expect([...(await readFile(join(dest, "nested", "deeper", "all.bin")))]).toEqual([...new Uint8Array(256).map((_, i) => i)]);
    expect(await readFile(join(dest, "name with\nnewline"), "utf8")).toBe("nl");
    expect(await readFile(join(dest, "ünï cødé.txt"), "utf8")).toBe("✓\n");
  });

  it("download limits hold", async () => {
    await sbx.files.write("lim/a", "0123456789");
    await sbx.files.write("lim/b", "0123456789");
    const error = await rejection(sbx.files.download("lim", join(scratch, "out"), { maxBytes: 15 }));
    expect(UnsafeArchiveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: "too-many-bytes" });
    const entries = await rejection(sbx.files.download("lim", join(scratch, "out2"), { maxEntries: 1 }));
    expect(entries).toMatchObject({ code: "UNSAFE_ARCHIVE", reason: "too-many-entries" });
  });

  it("an aborted signal stops a file operation", async () => {
    const error = await rejection(sbx.files.write("x", "y", { signal: AbortSignal.abort() }));
    expect((error as { code?: string }).code).toBe("ABORTED");
    expect(await sbx.files.exists("x")).toBe(false);
  });
});
