import { UnsafeArchiveError, type UnsafeArchiveErrorOptions } from "../errors/unsafe-archive-error.js";

/** The stable words `UnsafeArchiveError.reason` can hold. */
export type UnsafeArchiveReason = UnsafeArchiveErrorOptions["reason"];

/** The longest name segment accepted, in UTF-8 bytes (the common `NAME_MAX`). */
export const MAX_SEGMENT_BYTES = 255;

/** The longest entry path or link target accepted, in UTF-8 bytes (the common `PATH_MAX` less one). */
export const MAX_PATH_BYTES = 4095;

/** Why a name was refused: the reason word and a short phrase for the message. */
export interface NameProblem {
  readonly reason: UnsafeArchiveReason;
  readonly detail: string;
}

/** Whether `value` is a {@link NameProblem} rather than a list of segments. */
export function isNameProblem(value: readonly string[] | NameProblem): value is NameProblem {
  return !Array.isArray(value);
}

const onWindows = process.platform === "win32";

/**
 * Splits an archive entry name into normalised path segments, or says why it is refused.
 *
 * Accepted: relative POSIX names; empty and `.` segments are dropped (so `./a//b/` is `a/b`).
 * Refused: NUL bytes and over-long names or segments (`invalid-name`), a leading `/`
 * (`absolute-path`), and any `..` segment (`path-traversal`), even one that would stay inside.
 * On Windows, drive letters are absolute and backslashes are refused too. An empty result means
 * the archive root itself (`./`); callers decide whether that is allowed.
 */
export function splitEntryName(name: string): string[] | NameProblem {
  if (typeof name !== "string") return { reason: "invalid-name", detail: "the entry has no name" };
  if (name.includes("\0")) return { reason: "invalid-name", detail: "the name contains a NUL byte" };
  // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only for names that might be too long.
  if (name.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(name) > MAX_PATH_BYTES) {
    return { reason: "invalid-name", detail: `the name is longer than ${MAX_PATH_BYTES} bytes` };
  }
  if (name.startsWith("/")) return { reason: "absolute-path", detail: "the name is an absolute path" };
  if (onWindows) {
    if (/^[a-zA-Z]:/.test(name)) return { reason: "absolute-path", detail: "the name starts with a drive letter" };
    if (name.includes("\\")) return { reason: "path-traversal", detail: "the name contains a backslash, a separator on Windows" };
  }
  const segments: string[] = [];
  for (const segment of name.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") return { reason: "path-traversal", detail: "the name has a '..' segment" };
    if (segment.length * 3 > MAX_SEGMENT_BYTES && Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      return { reason: "invalid-name", detail: `a segment of the name is longer than ${MAX_SEGMENT_BYTES} bytes` };
    }
    segments.push(segment);
  }
  return segments;
}

/**
 * Checks a symbolic link's target without touching the disk: it must be a non-empty relative
 * path without NUL that, read from the link's own directory (`parent`), never climbs above the
 * archive root. `a/b -> ../c` is fine; `a -> ../..` and `a -> /etc` are `link-escape`.
 * (Links through other links are checked against the real tree once the archive has been read.)
 */
export function checkSymlinkTarget(parent: readonly string[], target: string): NameProblem | undefined {
  if (typeof target !== "string" || target === "") return { reason: "invalid-name", detail: "the link has no target" };
  if (target.includes("\0")) return { reason: "invalid-name", detail: "the link target contains a NUL byte" };
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) {
    return { reason: "invalid-name", detail: `the link target is longer than ${MAX_PATH_BYTES} bytes` };
  }
  if (target.startsWith("/") || (onWindows && /^[a-zA-Z]:|\\/.test(target))) {
    return { reason: "link-escape", detail: "the link points to an absolute path" };
  }
  let depth = parent.length;
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      depth -= 1;
      if (depth < 0) return { reason: "link-escape", detail: "the link points outside the destination" };
    } else {
      depth += 1;
    }
  }
  return undefined;
}

/**
 * Checks a hard link's target (a name relative to the archive root, like any entry name).
 * Absolute and climbing targets are `link-escape`; the caller still checks that the target is a
 * regular file extracted earlier.
 */
export function splitHardlinkTarget(target: string): string[] | NameProblem {
  if (typeof target !== "string" || target === "") return { reason: "invalid-name", detail: "the hard link has no target" };
  const split = splitEntryName(target);
  if (!isNameProblem(split)) {
    return split.length === 0 ? { reason: "link-escape", detail: "the hard link points to the destination itself" } : split;
  }
  if (split.reason === "absolute-path" || split.reason === "path-traversal") {
    return { reason: "link-escape", detail: `the hard link target is unsafe (${split.detail})` };
  }
  return split;
}

/**
 * A name as it can be shown in a message: control characters (C0, DEL, C1) and the invisible or
 * direction-changing characters used to disguise names are escaped as `\uXXXX`; length bounded.
 */
export function showName(name: string): string {
  const escaped = JSON.stringify(String(name))
    .slice(1, -1)
    .replace(/[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped.length > 256 ? `${escaped.slice(0, 256)}...` : escaped;
}

/** An `UnsafeArchiveError` naming the entry (already escaped). */
export function unsafe(reason: UnsafeArchiveReason, entry: string | undefined, detail: string, operation: string, cause?: unknown): UnsafeArchiveError {
  const where = entry === undefined ? "" : ` at ${entry === "" ? '""' : entry}`;
  return new UnsafeArchiveError(`${operation} refused the archive${where}: ${detail}`, { reason, entry, operation, cause });
}
