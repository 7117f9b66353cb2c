import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SandboxError } from "../errors/index.js";

/**
 * Starts `server` listening on `host`:`port` (`0` picks a free port) and resolves with the port it
 * got. A failure to listen (port taken, bad address) is a `SandboxError` with code `LISTEN_FAILED`
 * and operation `listen`, the socket error as its cause.
 */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new SandboxError(`could not listen on ${host}:${port} (${error.code ?? "error"})`, { operation: "listen", cause: error }, "LISTEN_FAILED"));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The `http://` base URL of a server listening on `host`:`port`; an IPv6 host is put in brackets. */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Waits for `promise` to settle, but no longer than `ms`; never rejects (for grace periods on close). */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
