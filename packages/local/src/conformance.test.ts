import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackendConformanceOptions, describeBackendConformance } from "@sandkit/testkit";
import { local } from "./index.ts";

/**
 * The backend conformance suite against the local backend, in both isolation modes. Each run
 * gets its own workspace root, and its teardown fails if any sandbox directory was left behind.
 */
function localConformance(isolation: "none" | "bubblewrap", extra: BackendConformanceOptions = {}): void {
  let root: string | undefined;
  describeBackendConformance(
    `local (isolation: ${isolation})`,
    () => {
      if (root === undefined) throw new Error("the suite's setup did not run");
      return { backend: local({ isolation, root }) };
    },
    {
      capabilities: {
        exec: { stream: "live", stdin: true, env: true, cwd: true },
        files: "native-archive",
        ttl: "keep-alive",
        metrics: true,
        codeLanguages: ["python", "javascript"],
        attach: true,
        isolation: isolation === "bubblewrap" ? "namespace" : "none",
      },
      confinedToWorkdir: true,
      async setup() {
        root = await mkdtemp(join(tmpdir(), `sandkit-local-conformance-${isolation}-`));
      },
      async teardown() {
        if (root === undefined) return;
        const left = await readdir(root);
        await rm(root, { recursive: true, force: true });
        if (left.length > 0) throw new Error(`sandboxes leaked: ${left.join(", ")} were left in the workspace root`);
      },
      ...extra,
    },
  );
}

localConformance("none");
localConformance("bubblewrap", { skip: existsSync("/usr/bin/bwrap") ? false : "/usr/bin/bwrap is not installed" });
