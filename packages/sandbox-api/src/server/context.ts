import type { IncomingMessage, ServerResponse } from "node:http";
import type { SandboxBackendV1 } from "@sandkit/core";
import type { EnvironmentStore } from "./environment-store.js";
import type { ResolvedServerOptions } from "./options.js";
import type { SlotPool } from "./slot-pool.js";

/** What every handler shares. */
export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly backend: SandboxBackendV1;
  readonly environments: EnvironmentStore;
  readonly pool: SlotPool;
  /** Aborted when the server closes: every backend call in flight stops. */
  readonly closing: AbortSignal;
  /** Ids of the sandboxes alive right now, destroyed by `close()` if a request left one behind. */
  readonly sandboxes: Set<string>;
}

/** One request being handled. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Aborted when the client goes away before the answer is written. */
  readonly clientGone: AbortSignal;
}

/** A short, safe description of an error for the logger (no stack, no cause chain). */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
