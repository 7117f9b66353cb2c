import { randomUUID } from "node:crypto";
import {
  array,
  bool,
  createHttpClient,
  type HttpClient,
  int,
  literal,
  nullable,
  num,
  obj,
  optional,
  parseShape,
  ProtocolError,
  redactSecrets,
  Secret,
  type Shape,
  type ShapeType,
  str,
  unknownValue,
} from "@sandkit/core";
import { BACKEND_NAME, HEALTH_PATH, RPC_PATH } from "./constants.js";
import type { ResolvedMicrosandboxOptions } from "./options.js";
import { mapMicrosandboxError, parseWireError, wireErrorToTyped } from "./wire-errors.js";

/** What one wire call needs besides its arguments: the caller's signal and this request's deadline. */
export interface RequestControl {
  readonly signal?: AbortSignal | undefined;
  /** This request's deadline in milliseconds (all attempts together). */
  readonly timeoutMs: number;
  /** The sandbox concerned, put on errors. */
  readonly sandboxId?: string | undefined;
  /** Largest buffered response, in bytes (default: the transport's 32 MiB). */
  readonly maxResponseBytes?: number | undefined;
}

/** The `config` of `sandbox.start` this adapter sends (the fields the SDKs send, plus nothing). */
export interface StartConfig {
  readonly image: string;
  readonly memory: number;
  readonly cpus: number;
  /** `KEY=VALUE` pairs every process of the sandbox sees (from `createSandbox({ env })`). */
  readonly envs?: readonly string[] | undefined;
}

const outputLine = obj({ stream: literal("stdout", "stderr"), text: str });

/** One line of output: the server sends one entry per line, newline removed. */
export type OutputLine = ShapeType<typeof outputLine>;

const replResult = obj({ status: optional(str), language: optional(str), output: array(outputLine) });
const commandResult = obj({ exit_code: int, success: optional(bool), output: array(outputLine) });
const sandboxStatus = obj({
  namespace: optional(str),
  name: str,
  running: optional(bool),
  cpu_usage: optional(num),
  memory_usage: optional(num),
  disk_usage: optional(num),
});
const metricsResult = obj({ sandboxes: array(sandboxStatus) });
const envelope = obj({ jsonrpc: optional(str), result: optional(unknownValue), error: optional(unknownValue), id: optional(nullable(unknownValue)) });

/** What `sandbox.repl.run` answered. */
export type ReplAnswer = ShapeType<typeof replResult>;
/** What `sandbox.command.run` answered. */
export type CommandAnswer = ShapeType<typeof commandResult>;
/** One entry of `sandbox.metrics.get`. */
export type SandboxStatus = ShapeType<typeof sandboxStatus>;

/**
 * The JSON-RPC 2.0 client of a microsandbox 0.2.x server: one function per method, each sending
 * `namespace` (scoped keys need it everywhere). Calls that act (`start`, `stop`, `repl.run`,
 * `command.run`) are sent with `idempotent: false`, so they are repeated only when they provably
 * never reached the server; `metrics.get` and health may be retried.
 */
export class MicrosandboxClient {
  readonly #http: HttpClient;
  readonly #namespace: string;

  constructor(options: ResolvedMicrosandboxOptions) {
    this.#namespace = options.namespace;
    this.#http = createHttpClient({
      baseUrl: options.url,
      backend: BACKEND_NAME,
      headers: {
        ...options.headers,
        ...(options.apiKey === undefined ? {} : { authorization: bearer(options.apiKey.reveal()) }),
      },
      dispatcher: options.dispatcher,
      retry: options.retry,
      connections: options.connections,
      mapError: mapMicrosandboxError,
    });
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#http.closed;
  }

  /** `sandbox.start`; resolves with the server's result string. Never repeated once it may have arrived. */
  async start(sandbox: string, config: StartConfig, control: RequestControl): Promise<string> {
    return this.#call("start", "sandbox.start", { sandbox, namespace: this.#namespace, config }, str, false, control);
  }

  /** `sandbox.stop`; resolves with the server's result string. */
  async stop(sandbox: string, control: RequestControl): Promise<string> {
    return this.#call("stop", "sandbox.stop", { sandbox, namespace: this.#namespace }, str, false, control);
  }

  /** `sandbox.repl.run` with a timeout in whole seconds (always sent: without one a run can hang forever). */
  async replRun(sandbox: string, language: string, code: string, timeoutSeconds: number, control: RequestControl): Promise<ReplAnswer> {
    return this.#call("repl.run", "sandbox.repl.run", { sandbox, namespace: this.#namespace, language, code, timeout: timeoutSeconds }, replResult, false, control);
  }

  /** `sandbox.command.run` with a timeout in whole seconds. */
  async commandRun(sandbox: string, command: string, args: readonly string[], timeoutSeconds: number, control: RequestControl): Promise<CommandAnswer> {
    return this.#call(
      "command.run",
      "sandbox.command.run",
      { sandbox, namespace: this.#namespace, command, args: [...args], timeout: timeoutSeconds },
      commandResult,
      false,
      control,
    );
  }

  /** `sandbox.metrics.get` for one sandbox (or the whole namespace); a read, so it may be retried. */
  async metrics(sandbox: string | undefined, control: RequestControl): Promise<readonly SandboxStatus[]> {
    const params = sandbox === undefined ? { namespace: this.#namespace } : { namespace: this.#namespace, sandbox };
    const answer = await this.#call("metrics", "sandbox.metrics.get", params, metricsResult, true, control);
    return answer.sandboxes;
  }

  /** `GET /api/v1/health`: any 2xx is healthy. */
  async health(control: RequestControl): Promise<void> {
    await this.#http.request({
      operation: "health",
      method: "GET",
      path: HEALTH_PATH,
      idempotent: true,
      responseType: "none",
      signal: control.signal,
      timeoutMs: control.timeoutMs,
    });
  }

  /** Closes the connection pool (not an injected dispatcher). Idempotent. */
  close(): Promise<void> {
    return this.#http.close();
  }

  async #call<T>(operation: string, method: string, params: Record<string, unknown>, shape: Shape<T>, idempotent: boolean, control: RequestControl): Promise<T> {
    const id = randomUUID();
    const response = await this.#http.request({
      operation,
      method: "POST",
      path: RPC_PATH,
      json: { jsonrpc: "2.0", method, params, id },
      idempotent,
      signal: control.signal,
      timeoutMs: control.timeoutMs,
      sandboxId: control.sandboxId,
      maxResponseBytes: control.maxResponseBytes,
    });
    const context = { backend: BACKEND_NAME, operation, sandboxId: control.sandboxId };
    const body = parseShape(envelope, response.body);
    const summary = `${BACKEND_NAME} ${operation}: POST ${response.url} answered ${response.status}`;
    if (body.error !== undefined) {
      const wire = parseWireError({ error: body.error });
      const excerpt = redactSecrets(JSON.stringify(body.error)).slice(0, 300);
      if (wire === undefined) throw new ProtocolError(`${summary} with a malformed JSON-RPC error`, { ...context, status: response.status, bodyExcerpt: excerpt });
      throw wireErrorToTyped(wire, response.status, summary, excerpt, context);
    }
    if (body.id !== undefined && body.id !== id) {
      throw new ProtocolError(`${summary} with the id of another request`, { ...context, status: response.status });
    }
    if (body.result === undefined) throw new ProtocolError(`${summary} without a result`, { ...context, status: response.status });
    return parseShape(shape, body.result);
  }
}

/** The Authorization value, itself a `Secret` so that it is revealed only on the wire. */
function bearer(key: string): Secret {
  return new Secret(`Bearer ${key}`);
}
