import type { BackendCapabilitiesV1, SandboxConfig } from "@sandkit/core";
import type { ConformanceCaseId } from "./cases.js";

/** A value, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Makes the configuration of one sandbox, as a user would pass it to `createSandbox`. Called once
 * per sandbox the suite opens, so every sandbox gets its own backend instance when the config
 * holds one; the suite closes such instances after the test.
 */
export type ConformanceConfigFactory = () => MaybePromise<SandboxConfig>;

/**
 * What a backend declares it can do, in the shape of `BackendCapabilitiesV1`. Every field is
 * optional; an absent field is taken from `sandbox.capabilities`. A declared field pins the
 * expectation: the suite checks that `sandbox.capabilities` agrees, and tests the declared
 * behaviour, so a capability that silently disappears fails loudly.
 */
export interface DeclaredCapabilities {
  readonly exec?: Partial<BackendCapabilitiesV1["exec"]> | undefined;
  readonly files?: BackendCapabilitiesV1["files"] | undefined;
  readonly ttl?: BackendCapabilitiesV1["ttl"] | undefined;
  readonly metrics?: boolean | undefined;
  readonly codeLanguages?: readonly string[] | undefined;
  readonly attach?: boolean | undefined;
  readonly isolation?: BackendCapabilitiesV1["isolation"] | undefined;
}

/** Code for one `runCode` language that prints `stdout` (compared after trimming). */
export interface CodeSample {
  readonly code: string;
  readonly stdout: string;
}

/** Options of {@link describeBackendConformance}. */
export interface BackendConformanceOptions {
  /**
   * What the backend can and cannot do. Default: whatever `sandbox.capabilities` says. Tests of an
   * absent capability assert the typed `CapabilityUnsupportedError` instead of being skipped.
   */
  readonly capabilities?: DeclaredCapabilities | undefined;
  /** Runs once before the suite (start a protocol server here). Its time limit is scaled too. */
  readonly setup?: (() => MaybePromise<void>) | undefined;
  /** Runs once after the suite (stop what `setup` started). Runs even when `setup` failed part-way. */
  readonly teardown?: (() => MaybePromise<void>) | undefined;
  /**
   * Multiplies every time bound of the suite (test time limits, how soon a timed-out or aborted
   * command must come back). Default 1. Use 2–5 for backends that start containers or VMs.
   */
  readonly timeScale?: number | undefined;
  /**
   * Whether file operations and `cwd` are confined to the sandbox's workdir: absolute paths
   * elsewhere and symbolic links leading out are refused with `ValidationError`, and nothing
   * outside the workdir changes. True for backends whose file operations run on this host (local);
   * container backends usually allow any path inside the container. Default `false`: those cases
   * are reported as skipped.
   */
  readonly confinedToWorkdir?: boolean | undefined;
  /** Sample code per `runCode` language, added to the built-in ones (python, javascript, sh, ...). */
  readonly codeSamples?: Readonly<Record<string, CodeSample>> | undefined;
  /**
   * Cases this backend cannot pass, by id, each with the reason shown in the report. Use it for a
   * protocol limit, never to hide a bug.
   */
  readonly skipCases?: Readonly<Partial<Record<ConformanceCaseId, string>>> | undefined;
  /** When set, the whole suite is reported as skipped with this reason (e.g. a missing tool). */
  readonly skip?: string | false | undefined;
}

/** The options with defaults applied. */
export interface ResolvedConformanceOptions {
  readonly capabilities: DeclaredCapabilities;
  readonly timeScale: number;
  readonly confinedToWorkdir: boolean;
  readonly codeSamples: Readonly<Record<string, CodeSample>>;
  readonly skipCases: Readonly<Partial<Record<string, string>>>;
}

/** Built-in `runCode` samples, each printing 42. */
export const DEFAULT_CODE_SAMPLES: Readonly<Record<string, CodeSample>> = {
  python: { code: "print(6 * 7)\n", stdout: "42" },
  python3: { code: "print(6 * 7)\n", stdout: "42" },
  javascript: { code: "console.log(6 * 7);\n", stdout: "42" },
  js: { code: "console.log(6 * 7);\n", stdout: "42" },
  node: { code: "console.log(6 * 7);\n", stdout: "42" },
  typescript: { code: "const n: number = 6 * 7;\nconsole.log(n);\n", stdout: "42" },
  sh: { code: "echo $((6 * 7))\n", stdout: "42" },
  bash: { code: "echo $((6 * 7))\n", stdout: "42" },
  shell: { code: "echo $((6 * 7))\n", stdout: "42" },
  ruby: { code: "puts 6 * 7\n", stdout: "42" },
  perl: { code: 'print 6 * 7, "\\n";\n', stdout: "42" },
};

/** Applies defaults and checks the options. */
export function resolveConformanceOptions(options: BackendConformanceOptions): ResolvedConformanceOptions {
  const timeScale = options.timeScale ?? 1;
  if (typeof timeScale !== "number" || !Number.isFinite(timeScale) || timeScale <= 0) {
    throw new TypeError(`timeScale must be a positive number, got ${String(timeScale)}`);
  }
  return {
    capabilities: options.capabilities ?? {},
    timeScale,
    confinedToWorkdir: options.confinedToWorkdir ?? false,
    codeSamples: { ...DEFAULT_CODE_SAMPLES, ...options.codeSamples },
    skipCases: options.skipCases ?? {},
  };
}

/**
 * The capabilities a test expects: each declared field, else the sandbox's own. Tests branch on
 * these, so that a declared capability the sandbox lacks fails the test that needs it.
 */
export function expectedCapabilities(actual: BackendCapabilitiesV1, declared: DeclaredCapabilities): BackendCapabilitiesV1 {
  return {
    exec: {
      stream: declared.exec?.stream ?? actual.exec.stream,
      stdin: declared.exec?.stdin ?? actual.exec.stdin,
      env: declared.exec?.env ?? actual.exec.env,
      cwd: declared.exec?.cwd ?? actual.exec.cwd,
    },
    files: declared.files ?? actual.files,
    ttl: declared.ttl ?? actual.ttl,
    metrics: declared.metrics ?? actual.metrics,
    codeLanguages: declared.codeLanguages ?? actual.codeLanguages,
    attach: declared.attach ?? actual.attach,
    isolation: declared.isolation ?? actual.isolation,
  };
}

/** The declared fields that differ from the sandbox's capabilities, as `field: declared != actual` lines. */
export function capabilityMismatches(actual: BackendCapabilitiesV1, declared: DeclaredCapabilities): string[] {
  const out: string[] = [];
  const compare = (field: string, want: unknown, got: unknown): void => {
    if (want === undefined) return;
    if (JSON.stringify(want) !== JSON.stringify(got)) out.push(`${field}: declared ${JSON.stringify(want)}, sandbox says ${JSON.stringify(got)}`);
  };
  for (const key of ["stream", "stdin", "env", "cwd"] as const) compare(`exec.${key}`, declared.exec?.[key], actual.exec[key]);
  compare("files", declared.files, actual.files);
  compare("ttl", declared.ttl, actual.ttl);
  compare("metrics", declared.metrics, actual.metrics);
  compare("codeLanguages", declared.codeLanguages === undefined ? undefined : [...declared.codeLanguages].sort(), [...actual.codeLanguages].sort());
  compare("attach", declared.attach, actual.attach);
  compare("isolation", declared.isolation, actual.isolation);
  return out;
}
