import { type HttpErrorInfo, ProtocolError, type SandboxError, SandboxNotFoundError, ServerError } from "@sandkit/core";

/**
 * Maps the server's error answers to typed errors, by status and route only (the plain-text
 * bodies are not a stable contract and are never parsed; they appear as a redacted excerpt):
 * - 404 on a route that names a saved environment → `SandboxNotFoundError` (the environment is
 *   unknown or expired; `/files/` 404s are refined by the client with a `HEAD` of the environment,
 *   and an execute with a base environment maps its 404 the same way);
 * - 404 anywhere else → `ProtocolError` (no such route: check the base URL and the server version);
 * - 503 → `ServerError`, retryable (the container pool was full; sent before any work);
 * - 5xx → `ServerError` (upstream answers 500 to bad archives and some bad configs);
 * - the rest (400 `ValidationError`, 405/413 `ProtocolError`, ...) → the transport's table.
 */
export function mapSandboxApiError(info: HttpErrorInfo): SandboxError | undefined {
  if (info.status === 404) {
    if (/\/(environments|files)\/[0-9a-f-]{36}\//.test(info.url)) {
      return new SandboxNotFoundError(`${info.summary}: no saved environment with this UUID (unknown or expired)`, info.context);
    }
    return new ProtocolError(`${info.summary}: no such route (check the base URL: routes sit directly under it and end in /)`, {
      ...info.context,
      status: 404,
      bodyExcerpt: info.excerpt,
    });
  }
  if (info.status === 503) {
    return new ServerError(`${info.summary}: the sandbox is overloaded (no free container)`, {
      ...info.context,
      status: 503,
      bodyExcerpt: info.excerpt,
      retryable: true,
      suggestion: "Retry after a few seconds, or run fewer executions at once.",
    });
  }
  return undefined;
}
