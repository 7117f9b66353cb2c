import type { ConformanceCase } from "./case.js";
import { capabilityCases } from "./cases/capability-cases.js";
import { execCases } from "./cases/exec-cases.js";
import { filesCases } from "./cases/files-cases.js";
import { lifecycleCases } from "./cases/lifecycle-cases.js";
import { pathsCases } from "./cases/paths-cases.js";
import { sandboxesCases } from "./cases/sandboxes-cases.js";
import { shellCases } from "./cases/shell-cases.js";
import { transferCases } from "./cases/transfer-cases.js";

/** Every case of the suite, by id; the part of the id before the dot is its group. */
export const ALL_CASES = {
  ...execCases,
  ...shellCases,
  ...filesCases,
  ...transferCases,
  ...pathsCases,
  ...lifecycleCases,
  ...capabilityCases,
  ...sandboxesCases,
} satisfies Record<string, ConformanceCase>;

/** The id of a conformance case, e.g. `"exec.timeout"`: what `skipCases` takes. */
export type ConformanceCaseId = keyof typeof ALL_CASES;

/** The title of every conformance case, by id, in the order the suite runs them. */
export const CONFORMANCE_CASES: Readonly<Record<ConformanceCaseId, string>> = Object.fromEntries(
  Object.entries(ALL_CASES).map(([id, entry]) => [id, entry.title]),
) as Record<ConformanceCaseId, string>;
