/**
 * The typed view of the sandbox-api protocol (PremierLangage sandbox 3.x): what `execute` takes
 * and returns, and the describe routes' answers. Upstream's three meanings of "environment" have
 * their own names here: `env` (variables), `baseEnvironment` (a saved environment to start from),
 * `archive` (an uploaded .tar.gz) and `savedEnvironment` (the environment a run saved).
 */

/** One command of an execute request: a bash command line, or one with its own time limit. */
export type CommandItem = string | CommandObject;

/** A command with options. */
export interface CommandObject {
  /**
   * The bash command line (`bash -c`). A leading `-` marks it failure-ignored (the chain goes on
   * when it fails or times out); the server strips the `-` before running it.
   */
  readonly command: string;
  /**
   * The command's time limit in seconds (a finite number above 0). Default, and upper bound: what
   * is left of the server's budget (10 s upstream).
   */
  readonly timeoutSeconds?: number | undefined;
}

/** What `execute` runs. The wire names are in brackets. */
export interface ExecuteConfig {
  /** Commands run one after another in one container (`commands`). Not empty. */
  readonly commands: readonly CommandItem[];
  /** Environment variables for every command (`environ`). Values must be strings. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** A saved environment (lowercase UUID) the run starts from (`environment`). */
  readonly baseEnvironment?: string | undefined;
  /** A file, relative to the working directory, whose UTF-8 text comes back as `result` (`result_path`). */
  readonly resultPath?: string | undefined;
  /** Whether the final working directory is saved as a new environment (`save`). Default `false`. */
  readonly save?: boolean | undefined;
}

/** The JSON `config` field as the server reads it. */
export interface WireConfig {
  commands: (string | { command: string; timeout?: number })[];
  environ?: Record<string, string>;
  environment?: string;
  result_path?: string;
  save?: boolean;
}

/** One started command of a run. */
export interface CommandRun {
  /** The command as run (without a leading `-`). */
  readonly command: string;
  /** Its exit code (0–255), or -1 (the sandbox could not run it, or its output was not UTF-8) or -2 (timed out). */
  readonly exitCode: number;
  /** Its standard output, decoded as UTF-8 and **trimmed** of surrounding whitespace by the server. */
  readonly stdout: string;
  /** Its standard error, trimmed likewise; the server's own texts (timeout, unknown error) end in `\n`. */
  readonly stderr: string;
  /** Wall time in seconds, as the server measured it. */
  readonly timeSeconds: number;
}

/**
 * How a run ended, from the response's `status` (upstream `SandboxErrCode` and exit codes):
 * - `success` (0): every started command succeeded, or only failure-ignored ones failed;
 * - `command-failed` (> 0): the first non-ignored failing command's exit code; it is the last entry;
 * - `unknown-error` (-1): the sandbox could not run a command, or a command's output was not UTF-8;
 * - `timed-out` (-2): a non-ignored command hit its time limit;
 * - `result-not-found` (-3): `resultPath` does not exist (replaces any other status);
 * - `result-not-utf8` (-4): `resultPath` is not UTF-8 text (replaces any other status).
 */
export type ExecuteStatus =
  | { readonly outcome: "success"; readonly status: 0 }
  | { readonly outcome: "command-failed"; readonly status: number }
  | { readonly outcome: "unknown-error"; readonly status: -1 }
  | { readonly outcome: "timed-out"; readonly status: -2 }
  | { readonly outcome: "result-not-found"; readonly status: -3 }
  | { readonly outcome: "result-not-utf8"; readonly status: -4 };

/** The answer of `execute` (HTTP 200, whatever the commands did). */
export type ExecuteResult = ExecuteStatus & {
  /** One entry per started command, in order; never empty. */
  readonly execution: readonly CommandRun[];
  /** Seconds from unpacking to the end of the result read, as the server measured them. */
  readonly totalTimeSeconds: number;
  /** The environment this run saved (only with `save`). */
  readonly savedEnvironment?: string | undefined;
  /** When the saved environment expires, when the server's `expire` could be read. */
  readonly expiresAt?: Date | undefined;
  /** The server's `expire` text as sent (formats differ between server versions). */
  readonly expire?: string | undefined;
  /** The text of `resultPath` (not trimmed; line endings translated to `\n` by the server). */
  readonly result?: string | undefined;
};

/** `GET /specifications/`: host and container limits (sizes in bytes, frequencies in MHz). */
export interface Specifications {
  readonly host: {
    readonly cpu: { readonly core: number | null; readonly logical: number; readonly freq_min: number; readonly freq_max: number };
    readonly memory: { readonly ram: number; readonly swap: number; readonly storage: Readonly<Record<string, number>> };
    readonly docker_version: string;
    readonly sandbox_version: string;
  };
  readonly container: {
    readonly count: number;
    readonly cpu: { readonly count: number; readonly period: number; readonly shares: number; readonly quota: number };
    readonly memory: { readonly ram: number; readonly swap: number; readonly storage: number };
    /** Copied from the server's settings as they are: the type depends on its configuration. */
    readonly io: Readonly<Record<string, unknown>>;
    readonly process: number;
    readonly working_dir_device: string;
  };
}

/** `GET /usages/`: the host's load, measured over 2 seconds on the server. */
export interface Usage {
  readonly cpu: { readonly frequency: number; readonly usage: number; readonly usage_avg: readonly number[] };
  readonly memory: { readonly ram: number; readonly swap: number; readonly storage: Readonly<Record<string, number>> };
  readonly io: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly network: Readonly<Record<string, number>>;
  readonly process: number;
  /** Containers in use right now. */
  readonly container: number;
}

/** `GET /libraries/`: software installed in the container image. */
export interface Libraries {
  readonly libraries: {
    readonly system: Readonly<Record<string, string>>;
    readonly python: Readonly<Record<string, string>>;
    readonly perl: Readonly<Record<string, string>>;
    readonly c: Readonly<Record<string, string>>;
  };
  /** Executables on the image's PATH, sorted. */
  readonly bin: readonly string[];
}

/** The answer of `check`: whether a saved environment (or a file in one) exists, and its size. */
export interface CheckResult {
  readonly exists: boolean;
  /** Its size in bytes (0 when it does not exist). */
  readonly size: number;
}
