/**
 * The sandkit conformance suite, run against the microsandbox adapter talking over loopback to
 * the microsandbox-compatible server of this package (over the local backend with bubblewrap, so
 * that commands see /workspace), with an API key, and file operations emulated by core through
 * `sandbox.command.run`.
 */
import { describeBackendConformance } from "@sandkit/testkit/conformance";
import { microsandbox } from "./index.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
let harness: Harness | undefined;
let apiKey: string | undefined;

describeBackendConformance("microsandbox over loopback", () => ({ backend: microsandbox({ url: harness!.server.url, apiKey }) }), {
  setup: async () => {
    harness = await startHarness();
    apiKey = harness.server.issueApiKey();
  },
  teardown: async () => {
    await harness?.close();
  },
  capabilities: {
    exec: { stream: "buffered", stdin: false, env: false, cwd: false },
    files: "emulated",
    ttl: "none",
    metrics: true,
    codeLanguages: ["python"],
    attach: true,
    isolation: "microvm",
  },
  timeScale: 2,
  skipCases: {
    "exec.abort":
      "the microsandbox protocol has no way to stop a running command, and the server keeps running it after the client gives up (upstream's portal does too); the adapter rejects with AbortedError at once, but cannot kill the command's background processes",
  },
  skip: bubblewrap ? false : "bubblewrap does not work here (the server's local backend needs it to show commands /workspace)",
});
