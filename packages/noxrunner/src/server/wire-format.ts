import { createHash } from "node:crypto";

/**
 * The reference server's pod name for a session: `sbx-` and the first 10 hex digits of the
 * SHA-256 of the id (`s1` gives `sbx-e8bc163c82`). Clients treat it as opaque.
 */
export function podNameOf(sessionId: string): string {
  return `sbx-${createHash("sha256").update(sessionId, "utf8").digest("hex").slice(0, 10)}`;
}

/** A time as RFC 3339 in UTC with whole seconds and `Z`, e.g. `2026-01-02T12:34:56Z`, like Go's `time.RFC3339`. */
export function rfc3339Seconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whole seconds as Go's `time.Duration` prints them: `30s`, `5m0s`, `1h0m0s`, `1h1m1s`. */
export function goDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}
