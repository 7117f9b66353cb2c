// The sandbox-api example (`pnpm --filter @sandkit/example-sandbox-api start` after a build): a
// grader for one student's submission, written once and run on two backends.
//
// 1. Starts a PremierLangage-sandbox-compatible server in this process (`@sandkit/sandbox-api/server`,
//    over the local backend), as `sandkit serve sandbox-api` would.
// 2. Grades the submission there: uploads its directory, compiles it, runs the tests, reads the
//    result file the tests wrote.
// 3. Grades it again on the local backend. The grader does not change: only the configuration it is
//    given (the variables `createSandbox()` reads: SANDKIT_BACKEND and SANDKIT_URL).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox, SandboxError } from "@sandkit/core";
import { createSandboxApiServer } from "@sandkit/sandbox-api/server";

type Environment = Readonly<Record<string, string | undefined>>;

const SUBMISSION: Record<string, string> = {
  "solution.py": "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b + 0\n",
  "test_solution.py": `\
import json
from solution import add, mul
cases = [("add", add(2, 3) == 5), ("mul", mul(6, 7) == 42), ("add-neg", add(-1, 1) == 0)]
passed = sum(ok for _, ok in cases)
with open("result.json", "w") as out:
    json.dump({"passed": passed, "total": len(cases), "failed": [name for name, ok in cases if not ok]}, out)
print(f"{passed}/{len(cases)} tests passed")
`,
};

/** The grader: the same code whatever the backend. */
async function grade(submissionDir: string, env: Environment): Promise<void> {
  await using sbx = await createSandbox({ execTimeoutMs: 5_000 }, env);
  console.log(`sandbox on "${sbx.backend}", workdir ${sbx.info.workdir}`);
  const uploaded = await sbx.files.upload(submissionDir);
  console.log(`  uploaded ${uploaded.files} files (${uploaded.bytes} bytes)`);
  const compiled = await sbx.exec(["python3", "-m", "py_compile", "solution.py", "test_solution.py"]);
  console.log(`  compile -> exit ${compiled.exitCode}${compiled.stderr === "" ? "" : `: ${compiled.stderr.trim()}`}`);
  if (compiled.exitCode !== 0) return;
  const tests = await sbx.exec(["python3", "test_solution.py"]);
  console.log(`  tests -> exit ${tests.exitCode}${tests.timedOut ? " (timed out)" : ""}: ${tests.stdout.trim()}`);
  const result = JSON.parse(await sbx.files.read("result.json", { encoding: "utf8" })) as { passed: number; total: number };
  console.log(`  result.json: ${result.passed}/${result.total}`);
}

async function main(): Promise<void> {
  const submission = await mkdtemp(join(tmpdir(), "sandkit-submission-"));
  try {
    for (const [name, content] of Object.entries(SUBMISSION)) await writeFile(join(submission, name), content);
    await using server = await createSandboxApiServer({ host: "127.0.0.1", port: 0, budgetMs: 10_000 });
    console.log(`sandbox-api-compatible server listening on ${server.url}`);

    console.log("\n1. on sandbox-api (SANDKIT_BACKEND=sandbox-api, SANDKIT_URL):");
    await grade(submission, { SANDKIT_BACKEND: "sandbox-api", SANDKIT_URL: server.url });

    console.log("\n2. the same grader on the local backend (SANDKIT_BACKEND=local):");
    await grade(submission, { SANDKIT_BACKEND: "local" });
  } finally {
    await rm(submission, { recursive: true, force: true });
  }
}

try {
  await main();
  console.log("\ndone; the sandboxes, the server and the submission copy are gone");
} catch (error) {
  console.error(`example failed: ${SandboxError.isInstance(error) ? `${error.code}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
}
