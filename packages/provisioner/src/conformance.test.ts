/**
 * The sandkit conformance suite, run against the provisioner adapter talking over loopback to the
 * provisioner-compatible server of this package: the control plane hands out a per-sandbox data
 * plane (the AIO sandbox API) on its own port, over the local backend with bubblewrap (so that
 * commands and file calls agree on /workspace, as in a pod).
 */
import { describeBackendConformance } from "@sandkit/testkit/conformance";
import { type Harness, bubblewrapWorks, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
let harness: Harness | undefined;

describeBackendConformance("provisioner over loopback", () => ({ backend: harness!.backend() }), {
  setup: async () => {
    harness = await startHarness({ readyDelayMs: 50 });
  },
  teardown: async () => {
    await harness?.close();
  },
  capabilities: {
    exec: { stream: "buffered", stdin: false, env: true, cwd: true },
    files: "per-file",
    ttl: "none",
    metrics: false,
    codeLanguages: [],
    attach: true,
    isolation: "container",
  },
  timeScale: 2,
  skip: bubblewrap ? false : "bubblewrap does not work here (the server's local backend needs it to show commands /workspace)",
});
