/**
 * The sandkit conformance suite, run against the sandbox-api adapter talking over loopback to the
 * compatible server of this package (over the local backend, with bubblewrap so that every
 * command sees its tree at /workspace as a container's /home/student), with the session
 * emulation: each exec and file change starts from the last saved environment and saves a new
 * one. The server's command budget is raised to 120 s so that the suite's long time limits fit.
 */
import { describeBackendConformance } from "@sandkit/testkit/conformance";
import { sandboxApi } from "./index.ts";
import { bubblewrapWorks, type Harness, startHarness } from "./test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();
let harness: Harness | undefined;

/** Why the running-command cases cannot pass over this protocol. */
const NO_VIEW_OF_RUNNING =
  "each sandbox-api call runs in a fresh container from the last saved environment, so nothing can watch (or stop) a running command: the suite's heartbeat check queues behind the command itself. The adapter rejects with AbortedError at once (see session.test.ts), but the server runs the command to its time limit";

describeBackendConformance(
  "sandbox-api over loopback",
  () => ({ backend: sandboxApi({ url: harness!.server.url, budgetMs: 120_000, workdir: "/workspace" }) }),
  {
    setup: async () => {
      harness = await startHarness({ budgetMs: 120_000 }, "bubblewrap");
    },
    teardown: async () => {
      await harness?.close();
    },
    capabilities: {
      exec: { stream: "buffered", stdin: false, env: true, cwd: true },
      files: "native-archive",
      ttl: "fixed",
      metrics: false,
      codeLanguages: [],
      attach: false,
      isolation: "container",
    },
    timeScale: 2,
    skipCases: {
      "exec.abort": NO_VIEW_OF_RUNNING,
      "lifecycle.close-aborts-running": NO_VIEW_OF_RUNNING,
      "transfer.download-hostile-links":
        "the compatible server drops symbolic links when it saves an environment, so the links this case makes are gone before the download (hostile downloaded archives are tested in hostile-download.test.ts)",
    },
    skip: bubblewrap ? false : "bubblewrap does not work here (the server's local backend needs it to show every command the same working directory)",
  },
);
