import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createBackend, type SandboxBackendV1 } from "@sandkit/core";
import { generateServerSecret, issueMicrosandboxApiKey } from "./api-keys.js";
import { authenticate, checkNamespaceScope } from "./auth.js";
import { SandboxRegistry } from "./sandbox-registry.js";
import type { MicrosandboxServer, MicrosandboxServerOptions } from "./server-options.js";
import { HttpAppError, internal, RpcEnvelopeError } from "./wire-errors.js";

/** axum's default body limit (2 MiB). */
const BODY_LIMIT = 2 * 1024 * 1024;

/** A framework rejection: `text/plain`, as axum answers before the handler runs. */
class PlainRejection extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Starts a server that speaks the legacy microsandbox JSON-RPC protocol (msb server v0.2.x):
 * `GET /api/v1/health` and `POST /api/v1/rpc` with `sandbox.start`, `sandbox.stop`,
 * `sandbox.metrics.get`, `sandbox.repl.run` and `sandbox.command.run`, over any sandkit backend.
 *
 * ```ts
 * await using server = await createMicrosandboxServer({ apiKeySecret: "s3cret" });
 * const key = server.issueApiKey();            // "msb_…", all namespaces, 24 h
 * // MSB_SERVER_URL=server.url MSB_API_KEY=key python3 my_script.py
 * ```
 */
export async function createMicrosandboxServer(options: MicrosandboxServerOptions = {}): Promise<MicrosandboxServer> {
  const dev = options.dev === true;
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new TypeError("port must be a whole number from 0 to 65535");
  if (options.apiKeySecret !== undefined && (typeof options.apiKeySecret !== "string" || options.apiKeySecret.length === 0)) {
    throw new TypeError("apiKeySecret must be a non-empty string");
  }
  const secret = options.apiKeySecret ?? generateServerSecret();
  const onError = options.onError ?? (() => undefined);
  const ownsBackend = options.backend === undefined;
  const backend: SandboxBackendV1 = options.backend ?? (await createBackend("local"));
  const lifetime = new AbortController();
  let registry: SandboxRegistry;
  try {
    registry = new SandboxRegistry({
      backend,
      createRequest: options.createRequest,
      namespaces: options.namespaces ?? [],
      onError,
      signal: lifetime.signal,
    });
  } catch (error) {
    if (ownsBackend) await backend.close();
    throw error instanceof HttpAppError ? new TypeError(`namespaces: ${error.message}`) : error;
  }

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    setCors(response);
    serve(request, response).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) sendJson(response, 500, { error: "Internal server error", code: 5002 });
      else response.destroy();
    });
  };

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "OPTIONS") {
      request.resume();
      response.writeHead(200).end();
      return;
    }
    if (path === "/api/v1/health") {
      request.resume();
      if (request.method !== "GET" && request.method !== "HEAD") return void response.writeHead(405).end();
      return sendJson(response, 200, { message: "Service is healthy" });
    }
    if (path !== "/api/v1/rpc") {
      request.resume();
      return void response.writeHead(404).end();
    }
    if (request.method !== "POST") {
      request.resume();
      return void response.writeHead(405).end();
    }
    try {
      const claims = dev ? undefined : authenticate(request.headers, secret);
      const body = await readBody(request);
      if (claims !== undefined) checkNamespaceScope(claims, body);
      const rpc = parseEnvelope(request, body);
      const id = rpc.id;
      try {
        if (rpc.jsonrpc !== "2.0") throw new RpcEnvelopeError(400, -32600, "Invalid or missing jsonrpc version field");
        const pending = registry.call(rpc.method, rpc.params);
        if (pending === undefined) throw new RpcEnvelopeError(404, -32601, `Method not found: ${rpc.method}`);
        const result = await pending;
        sendJson(response, 200, withId({ jsonrpc: "2.0", result }, id));
      } catch (error) {
        if (error instanceof RpcEnvelopeError) {
          sendJson(response, error.status, withId({ jsonrpc: "2.0", error: { code: error.code, message: error.message } }, id));
          return;
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof PlainRejection) {
        response.writeHead(error.status, { "content-type": "text/plain; charset=utf-8" }).end(error.message);
        return;
      }
      const failure = error instanceof HttpAppError ? error : internal(error);
      if (failure.status >= 500) onError(failure.cause ?? failure);
      sendJson(response, failure.status, { error: failure.message, code: failure.code });
    }
  };

  const server = createServer({ requestTimeout: 0 }, handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(requestedPort, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    if (ownsBackend) await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await registry.stopAll();
      lifetime.abort(new Error("the server is closing"));
      server.closeAllConnections();
      await stopped;
      if (ownsBackend) await backend.close();
    })();
    return closing;
  };

  return {
    url,
    port,
    dev,
    issueApiKey(keyOptions = {}) {
      if (dev) throw new Error("the server runs in dev mode: it needs no API key");
      return issueMicrosandboxApiKey({ secret, namespace: keyOptions.namespace, expiresInSeconds: keyOptions.expiresInSeconds });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface Envelope {
  readonly jsonrpc: string;
  readonly method: string;
  readonly params: unknown;
  readonly id: unknown;
}

/** axum's `Json<JsonRpcRequest>` extractor: 415, 400 (syntax) or 422 (shape), all `text/plain`. */
function parseEnvelope(request: IncomingMessage, body: string): Envelope {
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (!(type === "application/json" || (type.startsWith("application/") && type.endsWith("+json")))) {
    throw new PlainRejection(415, "Expected request with `Content-Type: application/json`");
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new PlainRejection(400, `Failed to parse the request body as JSON: ${error instanceof Error ? error.message : "invalid JSON"}`);
  }
  const reject = (what: string): never => {
    throw new PlainRejection(422, `Failed to deserialize the JSON body into the target type: ${what}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return reject("invalid type: expected struct JsonRpcRequest");
  const object = value as Record<string, unknown>;
  for (const field of ["jsonrpc", "method"] as const) {
    if (!Object.hasOwn(object, field)) reject(`missing field \`${field}\``);
    if (typeof object[field] !== "string") reject(`${field}: invalid type: expected a string`);
  }
  return { jsonrpc: object["jsonrpc"] as string, method: object["method"] as string, params: object["params"] ?? null, id: object["id"] ?? null };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      request.resume();
      throw new PlainRejection(413, "Failed to buffer the request body: length limit exceeded");
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function withId(body: Record<string, unknown>, id: unknown): Record<string, unknown> {
  return id === null || id === undefined ? body : { ...body, id };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

function setCors(response: ServerResponse): void {
  response.setHeader("access-control-allow-origin", "*");
  response.setHeader("access-control-allow-methods", "GET, POST, PUT, DELETE");
  response.setHeader("access-control-allow-headers", "authorization, accept, content-type");
}
