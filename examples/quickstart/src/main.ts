// The sandkit quickstart (`npm run demo` at the repo root). It creates a sandbox (the local backend
// unless SANDKIT_BACKEND / SANDKIT_URL say otherwise), writes a small Python program into it, runs
// it, and downloads the file the program made. `await using` removes the sandbox and the temp dir
// however the block ends.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSandbox, SandboxError } from "@sandkit/core";

const PROGRAM = `\
import json, os, platform

answer = 6 * 7
print(f"Hello from the sandbox! 6 * 7 = {answer}")
os.makedirs("out", exist_ok=True)
with open("out/report.json", "w") as report:
    json.dump({"answer": answer, "python": platform.python_version()}, report)
print("wrote out/report.json")
`;

/** A temp directory that removes itself at the end of its `await using` block. */
async function temporaryDirectory(prefix: string): Promise<AsyncDisposable & { readonly path: string }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

function indent(text: string): string {
  return text.trimEnd().replace(/^/gm, "  | ");
}

async function quickstart(): Promise<number> {
  await using sbx = await createSandbox();
  const details = Object.entries(sbx.info.details ?? {}).map(([key, value]) => `${key}=${String(value)}`);
  console.log(`sandbox ${sbx.id} on backend "${sbx.backend}", workdir ${sbx.info.workdir}${details.length > 0 ? ` (${details.join(", ")})` : ""}`);

  await sbx.files.write("main.py", PROGRAM);
  console.log("$ python3 main.py");
  const result = await sbx.exec(["python3", "main.py"], { timeoutMs: 30_000 });
  if (result.stdout !== "") console.log(indent(result.stdout));
  if (result.stderr !== "") console.log(indent(result.stderr));
  console.log(`exit code ${result.exitCode} in ${Math.round(result.durationMs)} ms`);
  if (result.exitCode !== 0) return 1;

  await using local = await temporaryDirectory("sandkit-quickstart-");
  const transfer = await sbx.files.download("out", local.path);
  console.log(`downloaded out/ to ${local.path}: ${transfer.files} file(s), ${transfer.bytes} bytes`);
  for (const name of await readdir(local.path)) {
    console.log(`  ${name}: ${await readFile(join(local.path, name), "utf8")}`);
  }
  return 0;
}

try {
  const status = await quickstart();
  console.log("done; the sandbox and the temp dir are removed");
  process.exitCode = status;
} catch (error) {
  const what = SandboxError.isInstance(error) ? `${(error as SandboxError).code}: ${(error as SandboxError).message}` : String(error);
  console.error(`quickstart failed: ${what}`);
  process.exitCode = 1;
}
