// The provisioner example (`pnpm --filter @sandkit/example-provisioner start` after a build).
//
// 1. Starts a DeerFlow-provisioner-compatible server in this process (`@sandkit/provisioner/server`,
//    over the local backend), as `sandkit serve provisioner` would: a control plane on one port and,
//    per sandbox, an AIO sandbox data plane on its own port, ready after a short delay like a pod.
// 2. Creates a sandbox through the `provisioner` backend (waiting for the data plane to be ready),
//    writes a file, runs a command, then drops the client without destroying the sandbox.
// 3. A new client reattaches to the same sandbox by id (what an app does after a restart), finds the
//    file, runs another command, and this time destroys the sandbox when its block ends.
import { randomBytes } from "node:crypto";
import { createSandbox, SandboxError } from "@sandkit/core";
import { provisioner } from "@sandkit/provisioner";
import { createProvisionerServer } from "@sandkit/provisioner/server";

async function main(): Promise<void> {
  const apiKey = randomBytes(16).toString("hex");
  await using server = await createProvisionerServer({ host: "127.0.0.1", port: 0, apiKey, readyDelayMs: 300 });
  console.log(`provisioner-compatible server listening on ${server.url}`);

  // First client: create, use, and detach (the sandbox stays, like a pod that outlives the app).
  let id: string;
  {
    await using sbx = await createSandbox({ backend: provisioner({ url: server.url, apiKey, threadId: "thread-42" }), timeoutMs: 30_000 });
    console.log(`created ${sbx.id} (workdir ${sbx.info.workdir})`);
    await sbx.files.write("notes.txt", "written before the restart\n");
    const r = await sbx.exec(["sh", "-c", "echo hello from $(hostname 2>/dev/null || echo the pod); ls"]);
    console.log(`  exec -> exit ${r.exitCode}: ${r.stdout.trim().replace(/\n/g, " | ")}`);
    id = await sbx.detach();
  }

  // Second client, as after a restart: reattach by id; this one destroys the sandbox at the end.
  await using again = await createSandbox({ backend: provisioner({ url: server.url, apiKey }), attach: id, onClose: "destroy" });
  console.log(`reattached to ${again.id}`);
  console.log(`  notes.txt: ${(await again.files.read("notes.txt", { encoding: "utf8" })).trim()}`);
  const r = await again.exec(["python3", "-c", "print(6 * 7)"]);
  console.log(`  python3 -> exit ${r.exitCode}: ${r.stdout.trim()}`);
}

try {
  await main();
  console.log("done; the sandbox and the server are gone");
} catch (error) {
  console.error(`example failed: ${SandboxError.isInstance(error) ? `${error.code}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
}
