import { describe, expect, it } from "vitest";
import { exitStatusOf, signalNumber, TIMEOUT_EXIT_STATUS } from "./exit-status.ts";
import { Interrupted } from "./interrupt.ts";

describe("exitStatusOf", () => {
  it("passes the command's exit code through", () => {
    expect(exitStatusOf({ exitCode: 0, signal: null, timedOut: false })).toBe(0);
    expect(exitStatusOf({ exitCode: 3, signal: null, timedOut: false })).toBe(3);
  });

  it("gives 124 for a timeout, whatever the exit fields say", () => {
    expect(exitStatusOf({ exitCode: null, signal: "SIGKILL", timedOut: true })).toBe(TIMEOUT_EXIT_STATUS);
    expect(TIMEOUT_EXIT_STATUS).toBe(124);
  });

  it("gives 128 + n for a command killed by signal n, and 1 when the signal is unknown", () => {
    expect(exitStatusOf({ exitCode: null, signal: "SIGKILL", timedOut: false })).toBe(137);
    expect(exitStatusOf({ exitCode: null, signal: "SIGTERM", timedOut: false })).toBe(143);
    expect(exitStatusOf({ exitCode: null, signal: "SIGNOPE", timedOut: false })).toBe(1);
    expect(exitStatusOf({ exitCode: null, signal: null, timedOut: false })).toBe(1);
    expect(signalNumber("SIGINT")).toBe(2);
  });

  it("gives 128 + n for the CLI's own interruption", () => {
    expect(new Interrupted("SIGINT").exitStatus).toBe(130);
    expect(new Interrupted("SIGPIPE").exitStatus).toBe(141);
  });
});
