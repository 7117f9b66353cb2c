// The NoxRunner example (`pnpm --filter @sandkit/example-noxrunner start` after a build).
//
// 1. Starts a NoxRunner-compatible server in this process (`@sandkit/noxrunner/server`, over the
//    local backend), as `sandkit serve noxrunner` would, on 127.0.0.1 and a free port.
// 2. Runs the quickstart against it through the `noxrunner` backend: write a program, run it,
//    read back the file it made.
// 3. Runs the very same quickstart on the local backend. Nothing in the quickstart changes: only
//    the configuration it is given (here the variables `createSandbox()` reads from the
//    environment: SANDKIT_BACKEND, SANDKIT_URL, SANDKIT_API_KEY).
import { randomBytes } from "node:crypto";
import { createSandbox, SandboxError } from "@sandkit/core";
import { createNoxRunnerServer } from "@sandkit/noxrunner/server";

type Environment = Readonly<Record<string, string | undefined>>;

const PROGRAM = `\
import json, platform
answer = 6 * 7
print(f"Hello from the sandbox! 6 * 7 = {answer}")
with open("report.json", "w") as report:
    json.dump({"answer": answer, "python": platform.python_version()}, report)
`;

/** The quickstart: the same code whatever the backend. */
async function quickstart(env: Environment): Promise<void> {
  await using sbx = await createSandbox({ execTimeoutMs: 30_000 }, env);
  console.log(`sandbox ${sbx.id} on "${sbx.backend}" (${sbx.capabilities.isolation} isolation), workdir ${sbx.info.workdir}`);
  await sbx.files.write("main.py", PROGRAM);
  const result = await sbx.exec(["python3", "main.py"]);
  console.log(`  $ python3 main.py -> exit ${result.exitCode}: ${result.stdout.trim()}`);
  if (result.exitCode !== 0) throw new Error(`the program failed: ${result.stderr.trim()}`);
  console.log(`  report.json: ${await sbx.files.read("report.json", { encoding: "utf8" })}`);
}

async function main(): Promise<void> {
  // A service key makes the server check X-Service-Key, as a production NoxRunner would.
  const serviceKey = randomBytes(16).toString("hex");
  await using server = await createNoxRunnerServer({ host: "127.0.0.1", port: 0, serviceKey });
  console.log(`NoxRunner-compatible server listening on ${server.url}`);

  console.log("\n1. on NoxRunner (SANDKIT_BACKEND=noxrunner, SANDKIT_URL, SANDKIT_API_KEY):");
  await quickstart({ SANDKIT_BACKEND: "noxrunner", SANDKIT_URL: server.url, SANDKIT_API_KEY: serviceKey });

  console.log("\n2. the same code on the local backend (SANDKIT_BACKEND=local):");
  await quickstart({ SANDKIT_BACKEND: "local" });
}

try {
  await main();
  console.log("\ndone; the sandboxes and the server are gone");
} catch (error) {
  console.error(`example failed: ${SandboxError.isInstance(error) ? `${error.code}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
}
