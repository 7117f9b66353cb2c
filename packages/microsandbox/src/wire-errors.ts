import {
  AuthenticationError,
  type HttpErrorContext,
  type HttpErrorInfo,
  ProtocolError,
  type SandboxError,
  type SandboxErrorOptions,
  ServerError,
  ValidationError,
} from "@sandkit/core";

/** microsandbox's application error codes (shape B bodies, `{"error": "...", "code": n}`). */
export const APP_CODES = {
  /** 401: no credentials, or a token without the `msb_` prefix. */
  invalidCredentials: 1001,
  /** 401: a bad signature, an expired or a malformed token. */
  invalidToken: 1004,
  /** 400: invalid params, bad names, missing configuration. */
  validation: 2001,
  /** 403: a scoped key used on another namespace. */
  accessDenied: 3001,
  /** 500: any internal failure, including every portal error (details only in the server log). */
  internal: 5002,
} as const;

/** The JSON-RPC 2.0 codes the server (or a portal) sends. */
export const RPC_CODES = { invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internal: -32603 } as const;

/** A parsed error body: shape A (JSON-RPC envelope) or shape B (application body). */
export type WireError =
  | { readonly shape: "rpc"; readonly code: number; readonly message: string }
  | { readonly shape: "app"; readonly code: number; readonly message: string };

/** Reads either error shape out of a JSON body; `undefined` when it is neither. Values are hostile: only types are trusted. */
export function parseWireError(json: unknown): WireError | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const body = json as Record<string, unknown>;
  const error = body["error"];
  if (typeof error === "object" && error !== null && !Array.isArray(error)) {
    const { code, message } = error as Record<string, unknown>;
    if (typeof code === "number" && Number.isInteger(code)) return { shape: "rpc", code, message: typeof message === "string" ? message : "" };
    return undefined;
  }
  if (typeof error === "string" && typeof body["code"] === "number" && Number.isInteger(body["code"])) {
    return { shape: "app", code: body["code"], message: error };
  }
  return undefined;
}

/** What a 5002 means, per method: the server hides the cause, so the message says what it could be. */
function internalMeaning(operation: string | undefined): string {
  switch (operation) {
    case "command.run":
      return "the command failed on the server, cause unknown: not found, timed out or spawn error (microsandbox answers all three with 500/5002 and drops the output)";
    case "repl.run":
      return "the code run failed on the server, cause unknown: the sandbox is not running, its portal is unreachable, or the image does not serve this language (microsandbox answers all with 500/5002)";
    case "start":
      return "starting the sandbox failed on the server, cause unknown (image pull, VM or orchestration failure; details are only in the server log)";
    case "stop":
      return "stopping the sandbox failed on the server, cause unknown (for example a name not defined in the namespace)";
    case "metrics":
      return "reading metrics failed on the server, cause unknown (for example a name not defined in the namespace)";
    default:
      return "the server failed, cause unknown (details are only in the server log)";
  }
}

/**
 * Builds the typed error for a parsed wire error. `status` is the HTTP status (200 for an error
 * envelope inside a 200). `excerpt` is the redacted excerpt of the body, the only server text put
 * in messages.
 */
export function wireErrorToTyped(wire: WireError, status: number, summary: string, excerpt: string, context: SandboxErrorOptions & Partial<HttpErrorContext>): SandboxError {
  const base = { ...context, protocolCode: wire.code, status, bodyExcerpt: excerpt };
  if (wire.shape === "app") {
    switch (wire.code) {
      case APP_CODES.invalidCredentials:
        return new AuthenticationError(`${summary}: the server refused the credentials (code 1001: no API key, or not an msb_ key)`, {
          ...context,
          status,
          reason: "unauthenticated",
          suggestion: "Set apiKey (or MSB_API_KEY) to a key from `msb server keygen`, or run the server with --dev.",
        });
      case APP_CODES.invalidToken:
        return new AuthenticationError(`${summary}: the server refused the API key (code 1004: bad signature, expired or malformed)`, {
          ...context,
          status,
          reason: "unauthenticated",
          suggestion: "Mint a fresh key with `msb server keygen`; keys expire after 24 hours by default.",
        });
      case APP_CODES.accessDenied:
        return new AuthenticationError(`${summary}: access denied (code 3001: the API key is scoped to another namespace)`, {
          ...context,
          status,
          reason: "forbidden",
          suggestion: "Use a key scoped to this backend's namespace, or a key for all namespaces (\"*\").",
        });
      case APP_CODES.validation:
        return new ValidationError(`${summary}: the server refused the parameters (code 2001): ${excerpt}`, context);
      case APP_CODES.internal:
        return new ServerError(`${summary}: ${internalMeaning(context.operation)}`, base);
      default:
        break;
    }
  } else {
    switch (wire.code) {
      case RPC_CODES.methodNotFound:
        return new ProtocolError(`${summary}: the server does not know this JSON-RPC method (-32601); it may not be a microsandbox 0.2.x server`, base);
      case RPC_CODES.invalidRequest:
        return new ProtocolError(`${summary}: the server refused the JSON-RPC envelope (-32600)`, base);
      case RPC_CODES.invalidParams:
        return new ValidationError(`${summary}: invalid params (-32602): ${excerpt}`, context);
      default:
        break;
    }
  }
  if (status >= 500 || wire.code === RPC_CODES.internal) return new ServerError(`${summary}: server error (code ${wire.code}): ${excerpt}`, base);
  return new ProtocolError(`${summary}: unexpected error code ${wire.code}: ${excerpt}`, base);
}

/**
 * The transport's `mapError` for microsandbox: both error shapes by code, a 404 as an unknown
 * route or method (never a missing sandbox: the protocol has no such answer), and a non-JSON 4xx
 * (the framework's plain-text rejections: 400 parse error, 413 too large, 415, 422) as `ProtocolError`.
 */
export function mapMicrosandboxError(info: HttpErrorInfo): SandboxError | undefined {
  const wire = parseWireError(info.json);
  if (wire !== undefined) return wireErrorToTyped(wire, info.status, info.summary, info.excerpt, info.context);
  const base = { ...info.context, status: info.status, bodyExcerpt: info.excerpt };
  if (info.status === 404) return new ProtocolError(`${info.summary}: no such route; is this a microsandbox 0.2.x server?`, base);
  if (info.status === 413) {
    return new ValidationError(`${info.summary}: the request is larger than the server accepts (about 2 MiB)`, { ...info.context, field: "body" });
  }
  if (info.status >= 400 && info.status < 500 && info.status !== 401 && info.status !== 403 && info.status !== 429) {
    return new ProtocolError(`${info.summary}: the server rejected the request with a non-JSON body: ${info.excerpt}`, base);
  }
  return undefined;
}
