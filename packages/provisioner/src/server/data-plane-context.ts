import type { IncomingMessage, ServerResponse } from "node:http";
import type { SandboxConnectionV1 } from "@sandkit/core";
import type { AioPathMap } from "./aio-paths.js";
import type { ResolvedProvisionerOptions } from "./options.js";

/** One shell session of the AIO API: an id and the directory its commands start in. */
export interface ShellSession {
  readonly id: string;
  readonly workingDir: string;
}

/** Most shell sessions one data plane remembers; the oldest is forgotten past it. */
export const MAX_SHELL_SESSIONS = 512;

/** What the handlers of one sandbox's data plane share. */
export interface DataPlaneContext {
  /** The sandbox's id on the control plane. */
  readonly sandboxId: string;
  readonly connection: SandboxConnectionV1;
  readonly paths: AioPathMap;
  readonly options: ResolvedProvisionerOptions;
  /** Aborts when the sandbox goes away (deleted, lost, server closing): backend calls listen to it. */
  readonly signal: AbortSignal;
  /** Shell sessions by id (insertion order = age). */
  readonly shellSessions: Map<string, ShellSession>;
  /** Bash sessions by id (insertion order = age): made by `bash/exec` or `bash/sessions/create`. */
  readonly bashSessions: Map<string, ShellSession>;
}

/** One request to a data-plane route. */
export interface DataPlaneRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Aborts when the sandbox goes away or the client disconnects. */
  readonly signal: AbortSignal;
}

/** Remembers `session` in `sessions`, forgetting the oldest past {@link MAX_SHELL_SESSIONS}. */
export function rememberSession(sessions: Map<string, ShellSession>, session: ShellSession): void {
  sessions.delete(session.id);
  sessions.set(session.id, session);
  while (sessions.size > MAX_SHELL_SESSIONS) {
    const oldest = sessions.keys().next().value;
    if (oldest === undefined) break;
    sessions.delete(oldest);
  }
}

/** Remembers a shell session (see {@link rememberSession}). */
export function rememberShellSession(ctx: DataPlaneContext, session: ShellSession): void {
  rememberSession(ctx.shellSessions, session);
}
