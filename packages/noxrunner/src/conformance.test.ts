/**
 * The sandkit conformance suite, run against the noxrunner adapter talking over loopback to the
 * NoxRunner-compatible server of this package (over the local backend with bubblewrap, so that
 * commands see /workspace as a container's would). Twice: with the server's defaults (the
 * SPECS.md behaviours: text health, timeouts as exit 124, unknown sandboxes as 404) and with the
 * reference server v0's behaviours (JSON health, `504 EXEC_TIMEOUT`, implicit creation of unknown
 * sandboxes).
 */
import { describeBackendConformance } from "@sandkit/testkit/conformance";
import { noxrunner } from "./index.ts";
import type { NoxRunnerServerOptions } from "./server/index.ts";
import { type Harness, bubblewrapWorks, startHarness } from "./server/test-support/harness.ts";

const bubblewrap = await bubblewrapWorks();

const capabilities = {
  exec: { stream: "buffered", stdin: false, env: true, cwd: true },
  files: "native-archive",
  ttl: "keep-alive",
  metrics: false,
  codeLanguages: [],
  attach: true,
  isolation: "container",
} as const;

function variant(name: string, serverOptions: Omit<NoxRunnerServerOptions, "backend">, skipCases: Record<string, string> = {}): void {
  let harness: Harness | undefined;
  describeBackendConformance(name, () => ({ backend: noxrunner({ url: harness!.server.url }) }), {
    setup: async () => {
      harness = await startHarness(serverOptions, "bubblewrap");
    },
    teardown: async () => {
      await harness?.close();
    },
    capabilities,
    timeScale: 2,
    skipCases,
    skip: bubblewrap ? false : "bubblewrap does not work here (the server's local backend needs it to show commands /workspace)",
  });
}

/** Why the cases that check "destroyed" through attach cannot pass against v0's behaviour. */
const V0_ATTACH =
  "the reference server v0 creates a sandbox for any unknown id on touch, so attach cannot tell a destroyed sandbox there (documented in the README; the default variant runs this case)";

variant("noxrunner over loopback (server defaults: SPECS.md behaviours)", {});
variant(
  "noxrunner over loopback (reference server v0 behaviours)",
  { healthStyle: "json", execTimeoutStyle: "http-504", unknownSession: "auto-create" },
  {
    "lifecycle.attach": V0_ATTACH,
    "lifecycle.dispose-idempotent": V0_ATTACH,
    "lifecycle.dispose-after-error": V0_ATTACH,
  },
);
