import { existsSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { Secret } from "../secret.js";
import {
  AbortedError,
  AuthenticationError,
  BackendNotInstalledError,
  CapabilityUnsupportedError,
  CommandFailedError,
  CommandTimeoutError,
  ConnectionError,
  FileNotFoundError,
  ProtocolError,
  RateLimitError,
  RequestTimeoutError,
  SandboxClosedError,
  SandboxError,
  SandboxNotFoundError,
  ServerError,
  UnknownBackendError,
  UnsafeArchiveError,
  ValidationError,
} from "./index.js";

/** One instance of every class, with the code and retryable default it must have. */
const cases: { make: () => SandboxError; cls: typeof SandboxError; code: string; retryable: boolean }[] = [
  { make: () => new AbortedError("m"), cls: AbortedError, code: "ABORTED", retryable: false },
  { make: () => new AuthenticationError("m", { status: 401 }), cls: AuthenticationError, code: "AUTHENTICATION_FAILED", retryable: false },
  { make: () => new BackendNotInstalledError("m", { packageName: "@sandkit/x" }), cls: BackendNotInstalledError, code: "BACKEND_NOT_INSTALLED", retryable: false },
  { make: () => new CapabilityUnsupportedError("m", { capability: "metrics" }), cls: CapabilityUnsupportedError, code: "CAPABILITY_UNSUPPORTED", retryable: false },
  { make: () => new CommandFailedError("m", { exitCode: 1, stdout: "", stderr: "" }), cls: CommandFailedError, code: "COMMAND_FAILED", retryable: false },
  { make: () => new CommandTimeoutError("m", { timeoutMs: 5 }), cls: CommandTimeoutError, code: "COMMAND_TIMEOUT", retryable: false },
  { make: () => new ConnectionError("m", { errno: "ECONNREFUSED" }), cls: ConnectionError, code: "CONNECTION_FAILED", retryable: true },
  { make: () => new FileNotFoundError("m", { path: "/x" }), cls: FileNotFoundError, code: "FILE_NOT_FOUND", retryable: false },
  { make: () => new ProtocolError("m"), cls: ProtocolError, code: "PROTOCOL_ERROR", retryable: false },
  { make: () => new RateLimitError("m", { retryAfterMs: 10 }), cls: RateLimitError, code: "RATE_LIMITED", retryable: true },
  { make: () => new RequestTimeoutError("m"), cls: RequestTimeoutError, code: "REQUEST_TIMEOUT", retryable: true },
  { make: () => new SandboxClosedError("m"), cls: SandboxClosedError, code: "SANDBOX_CLOSED", retryable: false },
  { make: () => new SandboxNotFoundError("m"), cls: SandboxNotFoundError, code: "SANDBOX_NOT_FOUND", retryable: false },
  { make: () => new ServerError("m", { status: 500 }), cls: ServerError, code: "SERVER_ERROR", retryable: false },
  { make: () => new UnknownBackendError("m", { known: ["local"] }), cls: UnknownBackendError, code: "UNKNOWN_BACKEND", retryable: false },
  { make: () => new UnsafeArchiveError("m", { reason: "path-traversal" }), cls: UnsafeArchiveError, code: "UNSAFE_ARCHIVE", retryable: false },
  { make: () => new ValidationError("m", { field: "x" }), cls: ValidationError, code: "VALIDATION_FAILED", retryable: false },
];

describe("error classes", () => {
  it.each(cases.map((c) => [c.code, c] as const))("%s: code, name, instanceof, isInstance, retryable", (_code, c) => {
    const error = c.make();
    expect(error.code).toBe(c.code);
    expect(c.cls.code).toBe(c.code);
    expect(error.name).toBe(c.cls.name);
    expect(error.retryable).toBe(c.retryable);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toBeInstanceOf(c.cls);
    expect(SandboxError.isInstance(error)).toBe(true);
    expect(c.cls.isInstance(error)).toBe(true);
    // No other class claims it.
    for (const other of cases) {
      if (other.cls === c.cls) continue;
      expect(other.cls.isInstance(error), `${other.cls.name}.isInstance(${c.cls.name})`).toBe(false);
      expect(error instanceof other.cls).toBe(false);
    }
  });

  it("codes are unique", () => {
    expect(new Set(cases.map((c) => c.code)).size).toBe(cases.length);
  });

  it("carries backend, operation, sandboxId, cause and the subclass fields", () => {
    const cause = new Error("socket hang up");
    const error = new RateLimitError("slow down", { backend: "noxrunner", operation: "exec", sandboxId: "sb-1", retryAfterMs: 1500, status: 429, cause });
    expect(error).toMatchObject({ backend: "noxrunner", operation: "exec", sandboxId: "sb-1", retryAfterMs: 1500, status: 429 });
    expect(error.cause).toBe(cause);
    expect(new ConnectionError("x", { errno: "ECONNRESET", requestSent: false })).toMatchObject({ errno: "ECONNRESET", requestSent: false });
    expect(new UnsafeArchiveError("x", { reason: "link-escape", entry: "a/b" })).toMatchObject({ reason: "link-escape", entry: "a/b" });
    expect(new CapabilityUnsupportedError("x", { capability: "runCode", backend: "microsandbox" })).toMatchObject({ capability: "runCode", backend: "microsandbox" });
    expect(new CommandFailedError("x", { exitCode: 2, stdout: "o", stderr: "e" })).toMatchObject({ exitCode: 2, signal: null, stdout: "o", stderr: "e" });
  });

  it("an explicit retryable overrides the class default", () => {
    expect(new ServerError("x", { retryable: true }).retryable).toBe(true);
    expect(new ConnectionError("x", { retryable: false }).retryable).toBe(false);
  });

  it("toJSON gives code, fields and message, without cause or stack", () => {
    const json = new FileNotFoundError("gone", { path: "/workspace/a", backend: "local", cause: new Error("ENOENT at /secret/place") }).toJSON();
    expect(json).toMatchObject({ name: "FileNotFoundError", code: "FILE_NOT_FOUND", message: "gone", path: "/workspace/a", backend: "local" });
    expect(json).not.toHaveProperty("cause");
    expect(json).not.toHaveProperty("stack");
    expect(JSON.stringify(json)).not.toContain("/secret/place");
  });

  it("plain errors and look-alikes without the marker are not sandkit errors", () => {
    const plain = Object.assign(new Error("x"), { code: "VALIDATION_FAILED" });
    expect(SandboxError.isInstance(plain)).toBe(false);
    expect(ValidationError.isInstance(plain)).toBe(false);
    expect(plain instanceof ValidationError).toBe(false);
    expect(SandboxError.isInstance(null)).toBe(false);
    expect(SandboxError.isInstance("VALIDATION_FAILED")).toBe(false);
  });
});

describe("errors from another copy of @sandkit/core", () => {
  it("a class defined elsewhere with the same Symbol.for markers is recognised", () => {
    // What a second copy of the package does: its own classes, the same global symbols.
    class ForeignSandboxError extends Error {}
    Object.defineProperty(ForeignSandboxError.prototype, Symbol.for("sandkit.error"), { value: true });
    class ForeignNotFound extends ForeignSandboxError {}
    Object.defineProperty(ForeignNotFound.prototype, Symbol.for("sandkit.error.SandboxNotFoundError"), { value: true });
    const foreign = new ForeignNotFound("gone");
    expect(SandboxError.isInstance(foreign)).toBe(true);
    expect(SandboxNotFoundError.isInstance(foreign)).toBe(true);
    expect(foreign instanceof SandboxNotFoundError).toBe(true);
    expect(ValidationError.isInstance(foreign)).toBe(false);
  });

  const dist = fileURLToPath(new URL("../../dist", import.meta.url));
  it.skipIf(!existsSync(join(dist, "errors", "index.js")))("two copies of the built package recognise each other's errors", async () => {
    // Two copies of the built files in two places, as two versions in one node_modules would be.
    const root = await mkdtemp(join(tmpdir(), "sandkit-copies-"));
    try {
      type Errors = typeof import("./index.js");
      const load = async (name: string): Promise<Errors> => {
        const copy = join(root, name);
        await cp(dist, copy, { recursive: true });
        await writeFile(join(copy, "package.json"), '{"type":"module"}');
        return (await import(/* @vite-ignore */ pathToFileURL(join(copy, "errors", "index.js")).href)) as Errors;
      };
      const first = await load("a");
      const second = await load("b");
      expect(first.ValidationError).not.toBe(second.ValidationError);
      const fromFirst = new first.ValidationError("bad", { field: "x" });
      expect(fromFirst instanceof second.ValidationError).toBe(true);
      expect(second.ValidationError.isInstance(fromFirst)).toBe(true);
      expect(second.SandboxError.isInstance(fromFirst)).toBe(true);
      expect(fromFirst instanceof second.SandboxError).toBe(true);
      expect(second.FileNotFoundError.isInstance(fromFirst)).toBe(false);
      expect(fromFirst instanceof second.FileNotFoundError).toBe(false);
      // And across this source copy too.
      expect(ValidationError.isInstance(fromFirst)).toBe(true);
      expect(second.RateLimitError.isInstance(new RateLimitError("x"))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("secrets in errors", () => {
  const key = "sk-live-4f9a8b7c6d5e";
  new Secret(key);

  it("a message or cause holding a known secret shows [redacted]", () => {
    const error = new AuthenticationError(`server said: bad key ${key}`, { cause: new Error(`echo ${key} back`) });
    expect(error.message).not.toContain(key);
    expect(error.message).toContain("[redacted]");
    expect((error.cause as Error).message).not.toContain(key);
    const shown = inspect(error, { depth: 10 });
    expect(shown).not.toContain(key);
    expect(shown).toContain("[redacted]");
    expect(JSON.stringify(error)).not.toContain(key);
    expect(String(error)).not.toContain(key);
  });

  it("credential-shaped text is redacted even when it was never registered", () => {
    const error = new ProtocolError("request to http://user:hunter2@host/x failed: Authorization: Bearer abc.def.ghi; x-api-key=zzz999");
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("abc.def.ghi");
    expect(error.message).not.toContain("zzz999");
    expect(error.message).toContain("Bearer [redacted]");
  });

  it("redacts nested causes", () => {
    const inner = new Error(`deep ${key}`);
    const middle = new Error("middle", { cause: inner });
    const error = new ConnectionError("outer", { cause: middle });
    expect(inspect(error, { depth: 10 })).not.toContain(key);
    expect(inner.message).toBe("deep [redacted]");
  });
});
