/**
 * Reads the execute response's `expire`, whatever the server version sent: extended ISO 8601 with
 * an offset (3.0.3: `2020-10-01T12:19:36.123456+00:00`), without one (3.0.0–3.0.2 sent the
 * server's local time; read here as UTC, so it may be off by the server's offset), or the basic
 * format of the upstream README (`20190705T130535Z`). `undefined` when it is none of these.
 */
export function parseExpire(text: string): Date | undefined {
  const basic = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (basic !== null) {
    const [, y, mo, d, h, mi, s] = basic.map(Number) as [number, number, number, number, number, number, number];
    return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  }
  const extended = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$/.exec(text);
  if (extended === null) return undefined;
  const fraction = extended[2] === undefined ? "" : extended[2].slice(0, 4);
  const date = new Date(`${extended[1]}${fraction}${extended[3] ?? "Z"}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
