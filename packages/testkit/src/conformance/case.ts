import type { TestContext } from "vitest";
import type { ConformanceHarness } from "./harness.js";

/** One conformance case: its title and what it runs. */
export interface ConformanceCase {
  /** The test's title, a sentence about the behaviour it checks. */
  readonly title: string;
  /** The case body. Opens its own sandboxes with `h.open()` and disposes them (`await using`). */
  readonly run: (h: ConformanceHarness, t: TestContext) => Promise<void>;
  /** Runs only when the suite's `confinedToWorkdir` option is set; otherwise reported as skipped. */
  readonly confinedOnly?: boolean | undefined;
  /** Time limit before `timeScale`, in milliseconds. Default 30 000. */
  readonly timeoutMs?: number | undefined;
}

/** Marks a branch taken because the backend lacks a capability, so reports show what was checked. */
export async function noteUnsupported(t: TestContext, capability: string): Promise<void> {
  await t.annotate(`${capability} is not supported: asserted CapabilityUnsupportedError`, "notice");
}
