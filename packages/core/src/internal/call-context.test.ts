import { describe, expect, it } from "vitest";
import { AbortedError } from "../errors/aborted-error.js";
import { RequestTimeoutError } from "../errors/request-timeout-error.js";
import { SandboxClosedError } from "../errors/sandbox-closed-error.js";
import { ServerError } from "../errors/server-error.js";
import { ValidationError } from "../errors/validation-error.js";
import { checkMs, createCallContext, throwIfAborted, untilAborted } from "./call-context.js";

const where = { backend: "memory", operation: "exec", sandboxId: "sb-1" };

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

describe("checkMs", () => {
  it("accepts positive finite numbers and undefined", () => {
    expect(checkMs(undefined, "timeoutMs")).toBeUndefined();
    expect(checkMs(1.5, "timeoutMs")).toBe(1.5);
  });
  it.each([[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], ["10" as unknown as number]])("refuses %j", (value) => {
    expect(() => checkMs(value, "timeoutMs")).toThrow(ValidationError);
  });
});

describe("createCallContext", () => {
  it("has no deadline and a live signal without options", () => {
    const call = createCallContext({});
    expect(call.deadline).toBeUndefined();
    expect(call.signal.aborted).toBe(false);
    call.dispose();
  });

  it("aborts at the deadline, and fail() says RequestTimeoutError", async () => {
    const before = Date.now();
    const call = createCallContext({ timeoutMs: 30 });
    expect(call.deadline).toBeGreaterThanOrEqual(before + 30);
    const reason = await aborted(call.signal);
    expect(Date.now() - before).toBeGreaterThanOrEqual(25);
    expect(RequestTimeoutError.isInstance(reason)).toBe(true);
    // Whatever the backend threw when its signal fired, the caller learns it was the deadline.
    const mapped = call.fail(new DOMException("The operation was aborted", "AbortError"), where);
    expect(RequestTimeoutError.isInstance(mapped)).toBe(true);
    expect(mapped).toMatchObject({ code: "REQUEST_TIMEOUT", timeoutMs: 30, operation: "exec", backend: "memory", sandboxId: "sb-1" });
    expect(AbortedError.isInstance(mapped)).toBe(false);
    call.dispose();
  });

  it("maps a caller abort to AbortedError, not a timeout", () => {
    const controller = new AbortController();
    const call = createCallContext({ signal: controller.signal, timeoutMs: 10_000 });
    const reason = new Error("user gave up");
    controller.abort(reason);
    expect(call.signal.aborted).toBe(true);
    const mapped = call.fail(new DOMException("aborted", "AbortError"), where);
    expect(AbortedError.isInstance(mapped)).toBe(true);
    expect(RequestTimeoutError.isInstance(mapped)).toBe(false);
    expect((mapped as AbortedError).cause).toBe(reason);
    call.dispose();
  });

  it("a caller abort stays an abort even if the deadline passes before the backend gives up", async () => {
    const controller = new AbortController();
    const call = createCallContext({ signal: controller.signal, timeoutMs: 10 });
    controller.abort();
    await new Promise((r) => setTimeout(r, 30));
    expect(AbortedError.isInstance(call.fail(new Error("late"), where))).toBe(true);
    call.dispose();
  });

  it("is aborted from the start when the caller's signal already is", () => {
    const call = createCallContext({ signal: AbortSignal.abort() });
    expect(call.signal.aborted).toBe(true);
    call.dispose();
  });

  it("an owner abort (the sandbox closing) is an AbortedError that says so, also when the backend rethrows the reason", () => {
    const owner = new AbortController();
    const call = createCallContext({ owner: owner.signal });
    const closing = new SandboxClosedError("closing");
    owner.abort(closing);
    const mapped = call.fail(closing, where);
    expect(AbortedError.isInstance(mapped)).toBe(true);
    expect((mapped as AbortedError).message).toMatch(/closing/);
    expect((mapped as AbortedError).cause).toBe(closing);
    call.dispose();
  });

  it("passes errors through when nothing aborted, and keeps a typed failure that races an abort", () => {
    const controller = new AbortController();
    const call = createCallContext({ signal: controller.signal });
    const server = new ServerError("boom", { status: 500 });
    expect(call.fail(server, where)).toBe(server);
    const plain = new Error("plain");
    expect(call.fail(plain, where)).toBe(plain);
    controller.abort();
    // A real failure that happened to finish after the abort is still the failure.
    expect(call.fail(server, where)).toBe(server);
    call.dispose();
  });

  it("dispose() stops the deadline and detaches from the caller's signal", async () => {
    const controller = new AbortController();
    const call = createCallContext({ signal: controller.signal, timeoutMs: 10 });
    call.dispose();
    controller.abort();
    await new Promise((r) => setTimeout(r, 30));
    expect(call.signal.aborted).toBe(false);
  });
});

describe("throwIfAborted", () => {
  it("does nothing on a live signal, rethrows a sandkit reason, wraps others in AbortedError", () => {
    expect(() => throwIfAborted(new AbortController().signal, where)).not.toThrow();
    const timeout = new RequestTimeoutError("late");
    expect(() => throwIfAborted(AbortSignal.abort(timeout), where)).toThrow(timeout);
    expect(() => throwIfAborted(AbortSignal.abort(), where)).toThrow(AbortedError);
  });
});

describe("untilAborted", () => {
  it("settles with the promise when the signal stays live", async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error("x")), new AbortController().signal)).rejects.toThrow("x");
  });

  it("rejects with the reason as soon as the signal aborts, even if the promise never settles", async () => {
    const controller = new AbortController();
    const pending = untilAborted(new Promise<never>(() => undefined), controller.signal);
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(untilAborted(new Promise<never>(() => undefined), AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
