import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileNotFoundError, listArchive, packEntries, ProtocolError, SandboxNotFoundError, ValidationError } from "@sandkit/core";
import { SandboxApiClient } from "./client.ts";
import { E1_FILES, E2_FILES, type Harness, startHarness } from "./test-support/harness.ts";

const encoder = new TextEncoder();

function archiveOf(files: Readonly<Record<string, string>>) {
  return packEntries(
    Object.entries(files).map(([path, text]) => ({ type: "file" as const, path, content: encoder.encode(text) })),
    { gzip: true },
  );
}

async function text(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

let harness: Harness;
let client: SandboxApiClient;

beforeAll(async () => {
  harness = await startHarness({ budgetMs: 10_000 });
  client = new SandboxApiClient({ url: harness.server.url });
});

afterAll(async () => {
  await client?.close();
  await harness?.close();
});

describe("SandboxApiClient against the compatible server (§13 from the client side)", () => {
  it("C1: specifications() answers the host and container limits", async () => {
    const specs = await client.specifications();
    expect(typeof specs.host.sandbox_version).toBe("string");
    expect(typeof specs.container.count).toBe("number");
  });

  it("C3/C4: usage() and libraries() answer JSON objects", async () => {
    const usage = await client.usage({ timeoutMs: 30_000 });
    expect(typeof usage.container).toBe("number");
    const libraries = await client.libraries({ timeoutMs: 60_000 });
    expect(Array.isArray(libraries.bin)).toBe(true);
  }, 90_000);

  it("validate() answers what execute would refuse, without sending", () => {
    expect(client.validate({ commands: ["true"] })).toMatchObject({ ok: true, wire: { commands: ["true"] } });
    expect(client.validate({ commands: [] })).toMatchObject({ ok: false, field: "commands" });
  });

  it("streams a large archive upload from a generator (32 MiB, never built whole)", async () => {
    const size = 32 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    async function* content(): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    }
    const archive = packEntries([{ type: "file", path: "big.bin", size, content: content() }], { gzip: true });
    const r = await client.execute({ commands: ["stat -c %s big.bin"] }, { archive });
    expect(r.execution[0]!.stdout).toBe(String(size));
  }, 60_000);

  it("C5: a chain with an ignored failure succeeds, with one entry per command", async () => {
    const r = await client.execute({ commands: ["true", { command: "echo $((1+1))", timeoutSeconds: 1 }, "-false"] });
    expect(r.outcome).toBe("success");
    expect(r.status).toBe(0);
    expect(r.execution).toHaveLength(3);
    expect(r.execution[1]!.stdout).toBe("2");
    expect(r.execution[2]).toMatchObject({ command: "false", exitCode: 1 });
    expect(r.savedEnvironment).toBeUndefined();
    expect(r.result).toBeUndefined();
  });

  it("C6/C7: a failing command stops the chain with its exit code", async () => {
    const r = await client.execute({ commands: ["false", "echo never"] });
    expect(r).toMatchObject({ outcome: "command-failed", status: 1 });
    expect(r.execution).toHaveLength(1);
  });

  it("C8: a command past its limit is timed-out", async () => {
    const r = await client.execute({ commands: [{ command: "echo $((1+1))", timeoutSeconds: 1 }, { command: "sleep 1", timeoutSeconds: 0.2 }] });
    expect(r).toMatchObject({ outcome: "timed-out", status: -2 });
    expect(r.execution[1]).toMatchObject({ command: "sleep 1", exitCode: -2, stdout: "" });
  });

  it("C10: env reaches the commands as environment variables", async () => {
    const r = await client.execute({ commands: ["echo $VAR1"], env: { VAR1: "My var" } });
    expect(r.execution[0]!.stdout).toBe("My var");
  });

  it("C11–C13: an uploaded archive, a result file, a saved environment and its downloads", async () => {
    const r = await client.execute(
      { commands: ['echo "Hello World !" > result.txt'], resultPath: "result.txt", save: true },
      { archive: archiveOf(E1_FILES) },
    );
    expect(r).toMatchObject({ outcome: "success", result: "Hello World !\n" });
    expect(r.savedEnvironment).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.expiresAt).toBeInstanceOf(Date);
    const saved = r.savedEnvironment!;
    const listing = await listArchive(await client.download(saved));
    expect(listing.map((entry) => entry.path).filter((p) => p !== "").sort()).toEqual(["dir", "dir/file1.txt", "dir/file3.txt", "file1.txt", "file3.txt", "result.txt"]);
    expect(await text(await client.download(saved, "dir/file1.txt"))).toBe("env1\n");
    expect(await client.check(saved, "dir/file1.txt")).toEqual({ exists: true, size: 5 });
    expect((await client.check(saved)).size).toBeGreaterThan(0);
  });

  it("C14/C15: a run from a saved environment; the upload wins a merge", async () => {
    const e2 = (await client.execute({ commands: ["true"], save: true }, { archive: archiveOf(E2_FILES) })).savedEnvironment!;
    const plain = await client.execute({ commands: ["cat file2.txt"], baseEnvironment: e2 });
    expect(plain.execution[0]!.stdout).toBe("env2");
    expect(plain.savedEnvironment).toBeUndefined();
    const merged = await client.execute({ commands: ["true"], baseEnvironment: e2, save: true }, { archive: archiveOf(E1_FILES) });
    const id = merged.savedEnvironment!;
    expect(await text(await client.download(id, "dir/file3.txt"))).toBe("both1\n");
    expect(await text(await client.download(id, "dir2/file2.txt"))).toBe("env2\n");
  });

  it("C16/C18: a missing result file is result-not-found, replacing the chain's status", async () => {
    expect(await client.execute({ commands: ["true"], resultPath: "unknown.txt" })).toMatchObject({ outcome: "result-not-found", status: -3 });
    expect(await client.execute({ commands: ["false"], resultPath: "missing.txt" })).toMatchObject({ outcome: "result-not-found", status: -3 });
  });

  it("C17: a result file that is not UTF-8 is result-not-utf8", async () => {
    const r = await client.execute({ commands: ["printf '\\377\\376\\375' > binary"], resultPath: "binary" });
    expect(r).toMatchObject({ outcome: "result-not-utf8", status: -4 });
  });

  it("C20/C21/C22: unknown environments and files are typed not-found errors", async () => {
    const unknown = "0b7c2f3e-8d0c-4c55-9b8a-5c0e3a0b1d2e";
    await expect(client.execute({ commands: ["true"], baseEnvironment: unknown })).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(client.download(unknown)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(client.download(unknown, "unknown")).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await client.check(unknown)).toEqual({ exists: false, size: 0 });
    const saved = (await client.execute({ commands: ["touch a"], save: true })).savedEnvironment!;
    await expect(client.download(saved, "unknown.unk")).rejects.toBeInstanceOf(FileNotFoundError);
    expect(await client.check(saved, "unknown.unk")).toEqual({ exists: false, size: 0 });
  });

  it("C19: configs the server would refuse are refused locally, before sending", async () => {
    const bad: unknown[] = [
      "Definitely not json",
      {},
      { commands: [] },
      { commands: [{ timeoutSeconds: 1 }] },
      { commands: ["true"], save: "yes" },
      { commands: "true" },
      { commands: [{ command: "true", environ: {} }] },
      { commands: [{ command: "true", timeoutSeconds: 0 }] },
      { commands: ["true"], env: { A: 1 } },
      { commands: ["true"], resultPath: "../etc/passwd" },
      { commands: ["true"], baseEnvironment: "UNKNOWN" },
    ];
    for (const config of bad) {
      await expect(client.execute(config as never)).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it("refuses malformed environment names and paths before sending", async () => {
    await expect(client.download("unknown")).rejects.toBeInstanceOf(ValidationError);
    await expect(client.download("0B7C2F3E-8D0C-4C55-9B8A-5C0E3A0B1D2E")).rejects.toBeInstanceOf(ValidationError);
    await expect(client.download("0b7c2f3e-8d0c-4c55-9b8a-5c0e3a0b1d2e", "a/../b")).rejects.toBeInstanceOf(ValidationError);
  });

  it("percent-encodes file paths segment by segment", async () => {
    const saved = (await client.execute({ commands: ["mkdir -p 'a b' && printf x > 'a b/c#?%.txt'"], save: true })).savedEnvironment!;
    expect(await text(await client.download(saved, "a b/c#?%.txt"))).toBe("x");
  });

  it("a wrong base URL is a ProtocolError naming the route problem, not a not-found", async () => {
    await using other = new SandboxApiClient({ url: `${harness.server.url}/nested` });
    await expect(other.execute({ commands: ["true"] })).rejects.toBeInstanceOf(ProtocolError);
  });
});
