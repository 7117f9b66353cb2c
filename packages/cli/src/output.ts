/** Somewhere the CLI writes text: `process.stdout`, `process.stderr`, or a test's buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/** Callbacks that pass a command's output through as it arrives, and the fallback for the rest. */
export interface OutputRelay {
  readonly onStdout: (text: string) => void;
  readonly onStderr: (text: string) => void;
  /**
   * Writes what the backend returned but never streamed (a backend that only returns output at
   * the end without calling the callbacks). Returns whether all output came through the callbacks.
   */
  finish(result: { readonly stdout: string; readonly stderr: string }): boolean;
}

/** Relays a command's stdout and stderr to the CLI's own, each to its own stream. */
export function relayOutput(stdout: TextSink, stderr: TextSink): OutputRelay {
  let streamedStdout = false;
  let streamedStderr = false;
  return {
    onStdout(text) {
      streamedStdout = true;
      stdout.write(text);
    },
    onStderr(text) {
      streamedStderr = true;
      stderr.write(text);
    },
    finish(result) {
      let streamed = true;
      if (!streamedStdout && result.stdout.length > 0) {
        stdout.write(result.stdout);
        streamed = false;
      }
      if (!streamedStderr && result.stderr.length > 0) {
        stderr.write(result.stderr);
        streamed = false;
      }
      return streamed;
    },
  };
}
