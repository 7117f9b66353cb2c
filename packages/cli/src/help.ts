import { KNOWN_BACKEND_NAMES } from "@sandkit/core";
import { INTERPRETERS } from "./interpreters.js";
import { SERVE_PROTOCOLS } from "./serve.js";

/** The text `sandkit --help` prints. */
export function helpText(): string {
  const byInterpreter = new Map<string, string[]>();
  for (const [ext, argv] of Object.entries(INTERPRETERS)) {
    const name = argv.join(" ");
    byInterpreter.set(name, [...(byInterpreter.get(name) ?? []), ext]);
  }
  const interpreters = [...byInterpreter].map(([name, exts]) => `${exts.join(" ")} ${name}`).join(", ");
  return `sandkit: run commands in a sandbox, on any sandkit backend.

Usage:
  sandkit [options] exec [--] <program> [args...]   run a program, no shell
  sandkit [options] sh "<command line>"             run a command line with sh -c
  sandkit [options] run <file> [--] [args...]       copy a local file into the sandbox and run it
                                                    (${interpreters})
  sandkit serve <protocol> [--host h] [--port p] [--service-key k] [--dev] [--isolation i]
                                                    serve a backend protocol (${SERVE_PROTOCOLS.join(", ")}) over
                                                    the local backend until Ctrl-C; prints "listening on <url>"

Command options (before the program, file or command line):
  --timeout <ms>        stop the command after this many milliseconds (exit status 124)
  --max-output <size>   output kept per stream, e.g. 64M (default 16M); backends that
                        stream live pass everything through, buffered ones drop the
                        rest with a warning
  --cwd <dir>           working directory in the sandbox (default: the sandbox's workdir)
  -e, --env NAME=value  set an environment variable for the command (repeatable)

Backend options (default: the environment variables in brackets, else the local backend):
  --backend <name>      ${KNOWN_BACKEND_NAMES.join(", ")}  [SANDKIT_BACKEND]
  --url <url>           base URL of a remote backend  [SANDKIT_URL]
  --api-key <key>       credential of a remote backend; prefer the variable, which
                        other users of this machine cannot see in ps  [SANDKIT_API_KEY]
  --isolation <mode>    local backend: none (runs on this host), bubblewrap, auto
                        [SANDKIT_LOCAL_ISOLATION]

  -h, --help            show this help
  -V, --version         show the version

Output of the command goes to stdout and stderr as it arrives. Ctrl-C stops the command and
removes the sandbox. Exit status: the command's own; 124 after --timeout; 128+n when signal n
ended it; 1 when sandkit itself failed (the message names the error code); 2 on a usage error.
`;
}
