/** Identity and facts about one sandbox, as the backend knows them. */
export interface SandboxInfoV1 {
  /** The backend's id for the sandbox; stable across `attach`. */
  readonly id: string;
  /** The backend name, e.g. `"local"` or `"noxrunner"`. */
  readonly backend: string;
  /** The absolute sandbox path relative paths resolve against, e.g. `/workspace`. */
  readonly workdir: string;
  /** When the sandbox was created, if known. */
  readonly createdAt?: Date | undefined;
  /** When the sandbox expires unless kept alive, if it has a TTL. */
  readonly expiresAt?: Date | undefined;
  /** Backend-specific facts that are safe to show (never secrets). */
  readonly details?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/** Resource requests in fixed units. Backends map them to their own quantities. */
export interface ResourceRequestV1 {
  /** Whole or fractional CPUs. */
  readonly cpus?: number | undefined;
  /** Memory in MiB. */
  readonly memoryMiB?: number | undefined;
  /** Scratch disk in MiB. */
  readonly diskMiB?: number | undefined;
}

/** What `create` is asked for. Backend-specific settings belong to the backend's factory. */
export interface CreateRequestV1 {
  /** A caller-chosen id; the backend validates it, or generates one when absent. */
  readonly id?: string | undefined;
  /** Idle lifetime in milliseconds, for backends with a TTL. */
  readonly ttlMs?: number | undefined;
  /** Image or template name, for backends that have them. */
  readonly image?: string | undefined;
  /** Environment variables every command of this sandbox sees. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Resource requests. */
  readonly resources?: ResourceRequestV1 | undefined;
  /** Labels stamped on the sandbox where the backend can store them (ownership, reaping). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** One chunk of live output. */
export interface OutputChunkV1 {
  readonly stream: "stdout" | "stderr";
  readonly data: Uint8Array;
}

/** A command to run. `argv[0]` is the program; no shell is involved unless the argv names one. */
export interface ExecRequestV1 {
  readonly argv: readonly string[];
  /** Absolute sandbox path; core has already resolved relative paths against `info.workdir`. */
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly stdin?: Uint8Array | undefined;
  /** The command's own time limit. Past it the command is killed and the result says `timedOut`. */
  readonly timeoutMs?: number | undefined;
  /** Bytes kept per stream; beyond it output is dropped and the result says it was truncated. */
  readonly maxOutputBytes: number;
  /**
   * Called with output as it arrives (live backends) or once at the end (buffered ones). Live
   * backends pass every byte, including what lies past `maxOutputBytes` and is not kept in the result.
   */
  readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
}

/** What a command did. A non-zero exit is a result, never an error. */
export interface ExecResultV1 {
  /** The exit code, or `null` when the command did not exit on its own (killed, timed out). */
  readonly exitCode: number | null;
  /** The signal that ended the command, when known (e.g. `"SIGKILL"`). */
  readonly signal?: string | null | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether stdout was cut at `maxOutputBytes`. */
  readonly stdoutTruncated: boolean;
  /** Whether stderr was cut at `maxOutputBytes`. */
  readonly stderrTruncated: boolean;
  /** Wall time of the command in milliseconds, as measured closest to the command. */
  readonly durationMs: number;
  /** Whether the command was stopped by its own `timeoutMs`. */
  readonly timedOut: boolean;
}

/** Code to run in a language runtime (`runCode`). */
export interface RunCodeRequestV1 {
  readonly code: string;
  readonly language: string;
  readonly timeoutMs?: number | undefined;
  readonly maxOutputBytes: number;
  readonly onOutput?: ((chunk: OutputChunkV1) => void) | undefined;
}

/** One entry of a directory listing. */
export interface FileEntryV1 {
  /** The entry's name within the listed directory. */
  readonly name: string;
  /** The absolute sandbox path. */
  readonly path: string;
  readonly type: "file" | "directory" | "symlink" | "other";
  /** Size in bytes (files), 0 otherwise. */
  readonly size: number;
  /** Permission bits, e.g. `0o644`, when known. */
  readonly mode?: number | undefined;
  readonly modifiedAt?: Date | undefined;
}

/** Resource usage of a sandbox, in the units the field names state. */
export interface MetricsV1 {
  /** CPU use as a percentage of one CPU, when known. */
  readonly cpuPercent?: number | undefined;
  /** Resident memory in bytes, when known. */
  readonly memoryBytes?: number | undefined;
  /** Disk used in bytes, when known. */
  readonly diskBytes?: number | undefined;
  /** Whether the sandbox is running, when the backend says. */
  readonly running?: boolean | undefined;
  /** When these figures were taken. */
  readonly takenAt: Date;
}

/** The answer of `health()`. */
export interface HealthV1 {
  readonly ok: boolean;
  /** A short, safe description (never a response body with secrets). */
  readonly detail?: string | undefined;
}

/** The answer of `keepAlive()`. */
export interface KeepAliveResultV1 {
  /** The new expiry, when the backend reports it. */
  readonly expiresAt?: Date | undefined;
}
