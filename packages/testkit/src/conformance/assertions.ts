import { setTimeout as delay } from "node:timers/promises";
import { CapabilityUnsupportedError, type CapabilityName, SandboxError } from "@sandkit/core";
import { expect } from "vitest";

/** A sandkit error class, e.g. `ValidationError`. */
export type SandboxErrorClass<E extends SandboxError> = abstract new (...args: never[]) => E;

/**
 * Runs `action` (a promise, or a function that may throw synchronously or return a promise) and
 * asserts that it fails with an instance of `errorClass`, recognised the cross-copy way
 * (`instanceof` goes through the class's `Symbol.hasInstance` marker). Returns the error.
 */
export async function expectSandboxError<E extends SandboxError>(
  action: Promise<unknown> | (() => unknown),
  errorClass: SandboxErrorClass<E>,
  what = "the operation",
): Promise<E> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    const value = typeof action === "function" ? await action() : await action;
    outcome = { ok: true, value };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    expect.fail(`${what} should have failed with ${errorClass.name}, but it succeeded with ${preview(outcome.value)}`);
  }
  const error = outcome.error;
  if (!(error instanceof errorClass)) {
    expect.fail(`${what} should have failed with ${errorClass.name}, but it failed with ${describeError(error)}`);
  }
  expect(SandboxError.isInstance(error), `${errorClass.name} is a SandboxError`).toBe(true);
  expect(typeof error.code).toBe("string");
  return error;
}

/** Asserts that `action` fails with `CapabilityUnsupportedError` naming `capability`. */
export async function expectUnsupported(action: Promise<unknown> | (() => unknown), capability: CapabilityName, what?: string): Promise<void> {
  const error = await expectSandboxError(action, CapabilityUnsupportedError, what ?? `an operation needing ${capability}`);
  expect(error.capability).toBe(capability);
  expect(typeof error.backend).toBe("string");
}

/**
 * Polls `condition` every `intervalMs` until it holds or `timeoutMs` passes; returns whether it
 * held. For waiting on state that has no event to await, always with a bound.
 */
export async function pollUntil(condition: () => Promise<boolean> | boolean, options: { readonly timeoutMs: number; readonly intervalMs?: number }): Promise<boolean> {
  const until = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 25;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= until) return false;
    await delay(interval);
  }
}

/** A short description of an error for assertion messages: class, code and message. */
export function describeError(error: unknown): string {
  if (SandboxError.isInstance(error)) return `${error.name} (${error.code}): ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `a thrown ${typeof error}: ${String(error)}`;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch {
    return String(value);
  }
}
