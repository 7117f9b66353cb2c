/** Longest wait a `Retry-After` header is read as (one day); anything longer is clamped to it. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/** IMF-fixdate, RFC 850 and asctime, the three date forms HTTP allows. */
const HTTP_DATE =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/**
 * Reads a `Retry-After` header: delay-seconds (`"120"`, also a decimal like `"1.5"`) or an
 * HTTP-date. Returns milliseconds to wait (0 for a date in the past), or `undefined` when the
 * header is absent or unreadable. `now` is the current `Date.now()`.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = typeof value === "string" ? value : value?.[0];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    return Math.min(Math.ceil(Number(text) * 1000), MAX_RETRY_AFTER_MS);
  }
  if (!HTTP_DATE.test(text)) return undefined;
  // asctime carries no zone but is GMT by definition; Date.parse would read it as local time.
  const at = Date.parse(text.endsWith("GMT") ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
