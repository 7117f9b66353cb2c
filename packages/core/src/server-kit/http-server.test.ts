import { afterEach, describe, expect, it } from "vitest";
import { type HttpServerHandle, serveHttp } from "./http-server.ts";

let running: HttpServerHandle | undefined;
afterEach(async () => {
  await running?.stop({ graceMs: 0 });
  running = undefined;
});

describe("serveHttp", () => {
  it("serves on a free port and reports its URL", async () => {
    running = await serveHttp({ host: "127.0.0.1", port: 0, handle: async (_req, res) => void res.end("hi") });
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
    const res = await fetch(running.url);
    expect(await res.text()).toBe("hi");
  });

  it("answers 500 and reports the failure when the handler rejects", async () => {
    const failures: unknown[] = [];
    running = await serveHttp({
      host: "127.0.0.1",
      port: 0,
      handle: async () => {
        throw new Error("boom");
      },
      onFailure: (error) => failures.push(error),
    });
    const outcome = await fetch(running.url).then(
      (res) => res.status,
      () => "reset",
    );
    expect([500, "reset"]).toContain(outcome);
    expect(failures).toHaveLength(1);
  });

  it("lets a request in flight finish within the grace, running release then afterGrace", async () => {
    const steps: string[] = [];
    let started!: () => void;
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const handle = await serveHttp({
      host: "127.0.0.1",
      port: 0,
      handle: async (_req, res) => {
        started();
        await finished;
        res.end("done");
        steps.push("request");
      },
    });
    const answer = fetch(handle.url).then((res) => res.text());
    await inHandler;
    const stopping = handle.stop({
      graceMs: 60_000,
      release: () => {
        steps.push("release");
        finish();
      },
      afterGrace: async () => void steps.push("afterGrace"),
    });
    expect(await answer).toBe("done");
    await stopping;
    expect(steps).toEqual(["release", "request", "afterGrace"]);
    expect(handle.server.listening).toBe(false);
  });
});
