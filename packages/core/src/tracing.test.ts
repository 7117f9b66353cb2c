import diagnosticsChannel from "node:diagnostics_channel";
import { afterEach, describe, expect, it } from "vitest";
import { createSandbox } from "./create-sandbox.js";
import { MemoryBackend } from "./test-support/memory-backend.js";
import { TRACE_CHANNELS, type TraceChannelName, type TraceContext } from "./tracing.js";

type Event = { channel: TraceChannelName; kind: "start" | "asyncEnd" | "error"; context: TraceContext; snapshot: string };

const subscriptions: (() => void)[] = [];

/** Subscribes to every sandkit channel and records what subscribers see, as JSON at that moment. */
function record(): Event[] {
  const events: Event[] = [];
  for (const name of TRACE_CHANNELS) {
    const handlers = {
      start: (context: TraceContext) => events.push({ channel: name, kind: "start", context, snapshot: snapshot(context) }),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (context: TraceContext) => events.push({ channel: name, kind: "asyncEnd", context, snapshot: snapshot(context) }),
      error: (context: TraceContext) => events.push({ channel: name, kind: "error", context, snapshot: snapshot(context) }),
    };
    const channel = diagnosticsChannel.tracingChannel<unknown, TraceContext>(name);
    channel.subscribe(handlers);
    subscriptions.push(() => channel.unsubscribe(handlers));
  }
  return events;
}

function snapshot(context: TraceContext): string {
  return JSON.stringify(context, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message } : value));
}

afterEach(() => {
  for (const unsubscribe of subscriptions.splice(0)) unsubscribe();
});

describe("tracing channels", () => {
  it("publishes start and end of each operation with operation, backend, sandbox, command and path", async () => {
    const events = record();
    const backend = new MemoryBackend();
    const sbx = await createSandbox({ backend });
    await sbx.exec(["echo", "hi"]);
    await sbx.files.write("notes.txt", "x");
    await sbx.close();
    const kinds = events.map((e) => `${e.channel}:${e.kind}`);
    expect(kinds).toEqual([
      "sandkit:create:start",
      "sandkit:create:asyncEnd",
      "sandkit:exec:start",
      "sandkit:exec:asyncEnd",
      "sandkit:files.write:start",
      "sandkit:files.write:asyncEnd",
      "sandkit:destroy:start",
      "sandkit:destroy:asyncEnd",
    ]);
    expect(events[2]!.context).toMatchObject({ operation: "exec", backend: "memory", sandboxId: sbx.id, command: "echo" });
    expect(events[3]!.context.result).toEqual({ exitCode: 0, signal: null, timedOut: false, durationMs: 1 });
    expect(events[4]!.context).toMatchObject({ operation: "files.write", path: "/workspace/notes.txt" });
  });

  it("a failure is published on the error event, typed", async () => {
    const events = record();
    const sbx = await createSandbox({ backend: new MemoryBackend() });
    await expect(sbx.files.read("missing")).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
    await sbx.close();
    const error = events.find((e) => e.channel === "sandkit:files.read" && e.kind === "error");
    expect(error?.context.error).toMatchObject({ code: "FILE_NOT_FOUND" });
  });

  it("never carries environment values, arguments, stdin, output or file contents", async () => {
    const secretEnv = "env-value-7f3a9c";
    const secretArg = "arg-value-1b2c3d";
    const content = "file-content-9e8d7c";
    const stdin = "stdin-value-5a4b3c";
    const events = record();
    const sbx = await createSandbox({ backend: new MemoryBackend(), env: { SANDBOX_WIDE: secretEnv } });
    await sbx.exec(["echo", secretArg], { env: { TOKEN: secretEnv } });
    await sbx.exec(["cat"], { stdin });
    await sbx.exec(["env", "SANDBOX_WIDE"]);
    await sbx.files.write("f.txt", content);
    expect(await sbx.files.read("f.txt", { encoding: "utf8" })).toBe(content);
    await sbx.files.list();
    await sbx.close();
    expect(events.length).toBeGreaterThanOrEqual(14);
    const readEnd = events.find((e) => e.channel === "sandkit:files.read" && e.kind === "asyncEnd");
    expect(readEnd?.context.result).toEqual({ bytes: content.length });
    const listEnd = events.find((e) => e.channel === "sandkit:files.list" && e.kind === "asyncEnd");
    expect(listEnd?.context.result).toEqual({ entries: 1 });
    for (const event of events) {
      for (const value of [secretEnv, secretArg, content, stdin]) expect(event.snapshot, `${event.channel}:${event.kind}`).not.toContain(value);
    }
  });

  it("costs nothing when nobody subscribes: results come back unchanged", async () => {
    const sbx = await createSandbox({ backend: new MemoryBackend() });
    await sbx.files.write("a", "abc");
    expect(await sbx.files.read("a", { encoding: "utf8" })).toBe("abc");
    await sbx.close();
  });
});
