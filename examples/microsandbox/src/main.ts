// The microsandbox example (`pnpm --filter @sandkit/example-microsandbox start` after a build).
//
// 1. Starts a microsandbox-compatible server in this process (`@sandkit/microsandbox/server`, over
//    the local backend), as `sandkit serve microsandbox` would, on 127.0.0.1 and a free port, and
//    mints an API key for it (`msb server keygen` upstream).
// 2. Through the `microsandbox` backend: runs Python in the sandbox's REPL with state kept across
//    calls, runs a command, and reads the sandbox's metrics.
//
// Point MSB_SERVER_URL and MSB_API_KEY at a real msb 0.2.x server to run step 2 against it instead.
import { createSandbox, SandboxError } from "@sandkit/core";
import { microsandbox } from "@sandkit/microsandbox";
import { createMicrosandboxServer, type MicrosandboxServer } from "@sandkit/microsandbox/server";

async function main(): Promise<void> {
  let server: MicrosandboxServer | undefined;
  let url = process.env["MSB_SERVER_URL"];
  let apiKey = process.env["MSB_API_KEY"];
  if (url === undefined) {
    server = await createMicrosandboxServer({ host: "127.0.0.1", port: 0 });
    url = server.url;
    apiKey = server.issueApiKey();
    console.log(`microsandbox-compatible server listening on ${url}`);
  }
  const backend = microsandbox({ url, apiKey });
  try {
    await using sbx = await createSandbox({ backend });
    console.log(`sandbox ${sbx.id} (${sbx.capabilities.codeLanguages.join(", ")} REPL)`);

    await sbx.runCode("import math\nradius = 2", { language: "python" });
    const area = await sbx.runCode("print(round(math.pi * radius ** 2, 3))", { language: "python" });
    console.log(`  state kept across runs: area = ${area.stdout}`);

    const failed = await sbx.runCode("1/0", { language: "python" });
    console.log(`  an exception: exit ${failed.exitCode}, last stderr line: ${failed.stderr.split("\n").at(-1)}`);

    const uname = await sbx.exec(["uname", "-s"]);
    console.log(`  $ uname -s -> exit ${uname.exitCode}: ${uname.stdout.trim()}`);

    const m = await sbx.metrics();
    const mib = (bytes: number | undefined): string => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
    console.log(`  metrics: running ${m.running}, cpu ${m.cpuPercent ?? "n/a"} %, memory ${mib(m.memoryBytes)}, disk ${mib(m.diskBytes)}`);
  } finally {
    await backend.close();
    await server?.close();
  }
}

main().catch((error: unknown) => {
  console.error(SandboxError.isInstance(error) ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
});
