import { createHash, randomBytes } from "node:crypto";
import { ValidationError } from "@sandkit/core";
import { BACKEND_NAME } from "./constants.js";

/**
 * What a sandbox id must look like: it becomes part of Kubernetes names (`sandbox-<id>`,
 * `sandbox-<id>-svc`), so lower-case letters, digits and `-`, starting and ending with a letter or
 * digit, at most 51 characters. The provisioner itself does not check (a bad id becomes a 500).
 */
export const SANDBOX_ID_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,49}[a-z0-9])?$/;

/** What `thread_id` must look like (the provisioner answers 422 otherwise). */
export const THREAD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** What `user_id` must look like (the provisioner answers 422 otherwise). */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Checks a sandbox id before it goes into a URL or a body; a `ValidationError` otherwise. */
export function checkSandboxId(id: unknown, operation: string): string {
  if (typeof id !== "string" || !SANDBOX_ID_PATTERN.test(id)) {
    throw new ValidationError(
      `sandbox id ${JSON.stringify(typeof id === "string" ? id.slice(0, 80) : typeof id)} is not valid here: use 1 to 51 lower-case letters, digits and "-", starting and ending with a letter or digit`,
      { field: "id", backend: BACKEND_NAME, operation },
    );
  }
  return id;
}

/** A fresh id for a sandbox the caller did not name: `sk-` and 24 hex digits (96 random bits; upstream's anonymous ids have 32). */
export function generateSandboxId(): string {
  return `sk-${randomBytes(12).toString("hex")}`;
}

/**
 * DeerFlow's deterministic id of a thread's sandbox: the first 16 hex digits of SHA-256 of
 * `"<userId>:<threadId>"`. Pass it as `createSandbox({ id })` to share sandboxes with a DeerFlow
 * gateway (any process computes the same id, so the provisioner hands out the same pod).
 */
export function deerflowSandboxId(userId: string, threadId: string): string {
  return createHash("sha256").update(`${userId}:${threadId}`, "utf8").digest("hex").slice(0, 16);
}

/** The control-plane path of one sandbox, percent-encoded. */
export function sandboxPath(id: string): string {
  return `/api/sandboxes/${encodeURIComponent(id)}`;
}
