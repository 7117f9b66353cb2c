// Streaming tar pack and safe extraction (issue "Core transport and archives"); see docs/archive.md.
export {
  packEntries,
  type ArchiveContent,
  type ArchiveDirectoryEntry,
  type ArchiveEntry,
  type ArchiveFileEntry,
  type ArchiveStream,
  type ArchiveSymlinkEntry,
  type PackedEntryInfo,
  type PackOptions,
} from "./pack-entries.js";
export { packDirectory, type PackDirectoryOptions, type PackSkippedEntry, type PackSkipReason } from "./pack-directory.js";
export {
  extractArchive,
  listArchive,
  type ArchiveListing,
  type ExtractedEntryInfo,
  type ExtractOptions,
  type ExtractResult,
  type ListOptions,
  type SkippedEntryInfo,
} from "./extract-archive.js";
export type { ArchiveEntryKind, ArchiveSource } from "./archive-reader.js";
export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from "./limits.js";
export type { UnsafeArchiveReason } from "./entry-name.js";
