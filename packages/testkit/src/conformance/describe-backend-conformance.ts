import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import type { ConformanceCase } from "./case.js";
import { ALL_CASES } from "./cases.js";
import { ConformanceHarness } from "./harness.js";
import { type BackendConformanceOptions, type ConformanceConfigFactory, resolveConformanceOptions } from "./options.js";

const DEFAULT_CASE_TIMEOUT_MS = 30_000;
const HOOK_TIMEOUT_MS = 60_000;

const GROUP_TITLES: Readonly<Record<string, string>> = {
  exec: "exec",
  sh: "sh",
  files: "files",
  transfer: "upload and download",
  paths: "path escapes",
  lifecycle: "lifecycle",
  capabilities: "capabilities",
  concurrency: "concurrency",
  isolation: "isolation",
};

/**
 * Declares sandkit's backend conformance suite in vitest. Every case opens its sandboxes through
 * the user API (`createSandbox(await makeConfig())`), as a user would, and disposes them.
 *
 * ```ts
 * import { describeBackendConformance } from "@sandkit/testkit";
 * import { local } from "@sandkit/local";
 *
 * describeBackendConformance("local", () => ({ backend: local({ isolation: "none" }) }));
 * ```
 *
 * @param name Shown in the report: `<name>: backend conformance`.
 * @param makeConfig Called once per sandbox. A backend instance in the config is closed by the
 *   suite after the case; a backend given by name is closed with its sandbox.
 * @param options What the backend cannot do, setup and teardown, time scale, skips.
 */
export function describeBackendConformance(name: string, makeConfig: ConformanceConfigFactory, options: BackendConformanceOptions = {}): void {
  const resolved = resolveConformanceOptions(options);
  const suite = typeof options.skip === "string" ? describe.skip : describe;
  const title = typeof options.skip === "string" ? `${name}: backend conformance (skipped: ${options.skip})` : `${name}: backend conformance`;
  suite(title, () => {
    const harness = new ConformanceHarness(makeConfig, resolved);
    const hookTimeout = harness.scaled(HOOK_TIMEOUT_MS);
    if (options.setup !== undefined) beforeAll(() => options.setup?.(), hookTimeout);
    if (options.teardown !== undefined) afterAll(() => options.teardown?.(), hookTimeout);
    afterEach(() => harness.cleanup(), hookTimeout);

    const groups = new Map<string, [string, ConformanceCase][]>();
    for (const [id, entry] of Object.entries(ALL_CASES) as [string, ConformanceCase][]) {
      const group = id.slice(0, id.indexOf("."));
      let members = groups.get(group);
      if (members === undefined) groups.set(group, (members = []));
      members.push([id, entry]);
    }
    for (const [group, members] of groups) {
      describe(GROUP_TITLES[group] ?? group, () => {
        for (const [id, entry] of members) {
          const label = `${entry.title} [${id}]`;
          const skipReason = resolved.skipCases[id];
          if (skipReason !== undefined) {
            it.skip(`${label} (skipped by the backend: ${skipReason})`, () => undefined);
          } else if (entry.confinedOnly === true && !resolved.confinedToWorkdir) {
            it.skip(`${label} (skipped: the backend is not confined to its workdir)`, () => undefined);
          } else {
            it(label, (t) => entry.run(harness, t), harness.scaled(entry.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS));
          }
        }
      });
    }
  });
}
