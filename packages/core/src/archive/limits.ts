import { ValidationError } from "../errors/validation-error.js";

/**
 * Limits applied while reading an archive. Past any of them the read stops with
 * `UnsafeArchiveError` (`too-many-bytes`, `too-many-entries`, `entry-too-large`).
 */
export interface ArchiveLimits {
  /**
   * Bytes of the decompressed tar stream (headers, padding and content together), so a gzip
   * bomb stops here however well it compresses. Default {@link DEFAULT_ARCHIVE_LIMITS}: 1 GiB.
   */
  readonly maxBytes?: number | undefined;
  /** Entries (files, directories, links, and refused ones). Default 100 000. */
  readonly maxEntries?: number | undefined;
  /** The size one entry may declare. Default 1 GiB. */
  readonly maxEntryBytes?: number | undefined;
}

/** The limits used when a caller gives none: 1 GiB in total, 100 000 entries, 1 GiB per entry. */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<Required<{ [K in keyof ArchiveLimits]: number }>> = Object.freeze({
  maxBytes: 1024 ** 3,
  maxEntries: 100_000,
  maxEntryBytes: 1024 ** 3,
});

/** Limits with every value present. */
export type ResolvedArchiveLimits = typeof DEFAULT_ARCHIVE_LIMITS;

/** Fills in defaults and checks each limit is a non-negative number (`Infinity` allowed). */
export function resolveLimits(limits: ArchiveLimits | undefined, operation: string): ResolvedArchiveLimits {
  return {
    maxBytes: checkLimit(limits?.maxBytes, DEFAULT_ARCHIVE_LIMITS.maxBytes, "maxBytes", operation),
    maxEntries: checkLimit(limits?.maxEntries, DEFAULT_ARCHIVE_LIMITS.maxEntries, "maxEntries", operation),
    maxEntryBytes: checkLimit(limits?.maxEntryBytes, DEFAULT_ARCHIVE_LIMITS.maxEntryBytes, "maxEntryBytes", operation),
  };
}

/** Checks one optional limit; `undefined` gives `fallback`. */
export function checkLimit(value: number | undefined, fallback: number, field: string, operation: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative number, got ${String(value)}`, { field, operation });
  }
  return value;
}
