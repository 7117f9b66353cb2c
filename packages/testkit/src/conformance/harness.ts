import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackendCapabilitiesV1, createSandbox, type Sandbox, type SandboxBackendV1, type SandboxOptions } from "@sandkit/core";
import { type ConformanceConfigFactory, expectedCapabilities, type ResolvedConformanceOptions } from "./options.js";

/**
 * What every conformance case works with: opens sandboxes through the user API, hands out temp
 * dirs, scales time bounds, and after each case closes and removes whatever the case left.
 */
export class ConformanceHarness {
  readonly options: ResolvedConformanceOptions;
  readonly #makeConfig: ConformanceConfigFactory;
  #sandboxes: Sandbox[] = [];
  #backends: SandboxBackendV1[] = [];
  #tempDirs: string[] = [];
  #disposeErrors: unknown[] = [];

  constructor(makeConfig: ConformanceConfigFactory, options: ResolvedConformanceOptions) {
    this.#makeConfig = makeConfig;
    this.options = options;
  }

  /** `ms` multiplied by the suite's `timeScale`. */
  scaled(ms: number): number {
    return Math.ceil(ms * this.options.timeScale);
  }

  /**
   * Opens a sandbox with `createSandbox`, exactly as a user does, from a fresh `makeConfig()` with
   * `extra` sandbox options on top. Hold it in `await using`.
   */
  async open(extra: SandboxOptions = {}): Promise<Sandbox> {
    const config = await this.#makeConfig();
    if (typeof config.backend === "object" && config.backend !== null) this.#backends.push(config.backend);
    const onDisposeError = config.onDisposeError;
    const sandbox = await createSandbox({
      ...config,
      ...extra,
      onDisposeError: (error: unknown) => {
        this.#disposeErrors.push(error);
        onDisposeError?.(error);
      },
    });
    this.#sandboxes.push(sandbox);
    return sandbox;
  }

  /** What the case should expect of `sandbox`: declared capabilities over the sandbox's own. */
  capabilities(sandbox: Sandbox): BackendCapabilitiesV1 {
    return expectedCapabilities(sandbox.capabilities, this.options.capabilities);
  }

  /** A fresh, empty local temp dir, removed after the case. */
  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "sandkit-conformance-"));
    this.#tempDirs.push(dir);
    return dir;
  }

  /**
   * Runs after every case: closes sandboxes the case left open (a suite bug, reported as such),
   * closes the backend instances `makeConfig` made, removes temp dirs, and fails the case when a
   * sandbox's disposal failed (the backend's `destroy` or `release` threw).
   */
  async cleanup(): Promise<void> {
    const sandboxes = this.#sandboxes;
    const backends = this.#backends;
    const tempDirs = this.#tempDirs;
    const disposeErrors = this.#disposeErrors;
    this.#sandboxes = [];
    this.#backends = [];
    this.#tempDirs = [];
    this.#disposeErrors = [];
    const problems: unknown[] = [...disposeErrors];
    const leaked = sandboxes.filter((sandbox) => !sandbox.closed);
    for (const sandbox of leaked) {
      await sandbox.close().catch((error: unknown) => problems.push(error));
    }
    for (const backend of new Set(backends)) {
      await backend.close().catch((error: unknown) => problems.push(error));
    }
    for (const dir of tempDirs) {
      await rm(dir, { recursive: true, force: true }).catch((error: unknown) => problems.push(error));
    }
    if (leaked.length > 0) {
      problems.unshift(new Error(`conformance suite bug: ${leaked.length} sandbox(es) were left open by the case`));
    }
    if (problems.length === 1) throw problems[0];
    if (problems.length > 1) throw new AggregateError(problems, `cleanup after the case failed in ${problems.length} ways`);
  }
}
