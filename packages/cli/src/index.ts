/**
 * @sandkit/cli: the `sandkit` command, and its pieces for programs that want to embed it.
 * @packageDocumentation
 */
export { main, DEFAULT_MAX_OUTPUT_BYTES, type CliIO } from "./main.js";
export { parseCommandLine, COMMANDS, type CliInvocation, type BackendFlags, type CommandFlags, type IsolationFlag } from "./parse-args.js";
export { sandboxConfigFrom, type Environment } from "./sandbox-config.js";
export { INTERPRETERS, interpreterFor } from "./interpreters.js";
export { exitStatusOf, signalNumber, TIMEOUT_EXIT_STATUS, type FinishedCommand } from "./exit-status.js";
export { Interrupted } from "./interrupt.js";
export { UsageError } from "./usage-error.js";
export { relayOutput, type OutputRelay, type TextSink } from "./output.js";
export { reportError, SANDKIT_ERROR_EXIT_STATUS } from "./report-error.js";
export { helpText } from "./help.js";
export { cliVersion } from "./version.js";
