/**
 * What a backend can do, declared with modes rather than booleans so that callers (and core's
 * emulation) can tell *how* a feature works, not only whether it exists.
 */
export interface BackendCapabilitiesV1 {
  readonly exec: {
    /** `live`: output reaches `onOutput` while the command runs. `buffered`: all at the end. */
    readonly stream: "live" | "buffered";
    /** Whether bytes can be written to the command's standard input. */
    readonly stdin: boolean;
    /** Whether per-command environment variables are supported. */
    readonly env: boolean;
    /** Whether a per-command working directory is supported. */
    readonly cwd: boolean;
  };
  /**
   * How files move:
   * - `native-archive`: the backend moves whole directories as tar archives natively;
   * - `per-file`: the backend reads and writes single files natively;
   * - `emulated`: core moves files through `exec` (shell tools inside the sandbox);
   * - `none`: file operations are not possible.
   */
  readonly files: "native-archive" | "per-file" | "emulated" | "none";
  /** `keep-alive`: sandboxes expire and `keepAlive()` extends them; `fixed`: they expire; `none`: no TTL. */
  readonly ttl: "keep-alive" | "fixed" | "none";
  /** Whether `metrics()` returns figures. */
  readonly metrics: boolean;
  /** Languages `runCode` accepts; empty when `runCode` is not available. */
  readonly codeLanguages: readonly string[];
  /** Whether an existing sandbox can be reattached by id (`createSandbox({ attach: id })`). */
  readonly attach: boolean;
  /** What stands between the code and the host, as far as the backend knows. */
  readonly isolation: "none" | "namespace" | "container" | "microvm" | "unknown";
}

/** The capability names `CapabilityUnsupportedError` can carry. */
export type CapabilityName =
  | "exec.stdin"
  | "exec.env"
  | "exec.cwd"
  | "files"
  | "keepAlive"
  | "metrics"
  | "runCode"
  | "attach";
