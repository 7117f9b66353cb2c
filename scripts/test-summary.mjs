// Prints the closing line CI reads, "N passed, N failed, N skipped", from vitest's JSON report.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "test-results/vitest.json";
// vitest's own exit status: non-zero with no failed test means errors outside tests (an unhandled
// rejection, a file that failed to load), which count as one failure so the line never says "0 failed".
const runnerStatus = Number(process.argv[3] ?? "0");
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  console.error(`test-summary: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
let failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
if (failed === 0 && runnerStatus !== 0) {
  console.error("test-summary: the test runner failed outside any test (see its output above); counted as 1 failure");
  failed = 1;
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || report.success === false ? 1 : 0);
