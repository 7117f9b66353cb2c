import { posix } from "node:path";
import { fileFailure, FileOperationFailure, fileFailureOf, sendFailure, sendOk } from "./aio-envelope.js";
import type { DataPlaneContext, DataPlaneRequest } from "./data-plane-context.js";
import { readJsonObject } from "./http-io.js";
import { RequestFields } from "./request-fields.js";

/** How long one grep may run inside the sandbox. */
const GREP_TIMEOUT_MS = 60_000;
/** Output of grep kept (bytes); matches past it are dropped and the result says `truncated`. */
const GREP_OUTPUT_BYTES = 8 * 1024 * 1024;
/** Longest `line_content` returned. */
const MAX_LINE_CHARS = 2_000;

/** One match of a `/v1/file/grep` answer. */
export interface GrepMatch {
  readonly file: string;
  readonly line_number: number;
  readonly line_content: string;
  readonly context_before: readonly string[];
  readonly context_after: readonly string[];
}

/**
 * The grep script run inside the sandbox: `find` picks the files (depth, size), `grep` searches
 * them. The pattern and paths are positional arguments, never spliced into the script.
 */
const GREP_SCRIPT = 'root=$1; depth=$2; size=$3; shift 3; find "$root" $depth -type f -size -"$size"c -print0 2>/dev/null | xargs -0 -r grep -n -H -Z -I "$@" --';

/** `"1M"`, `"500K"`, `"100"` as bytes; `undefined` when it does not parse. */
export function parseSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*$/i.exec(value);
  if (match === null) return undefined;
  const unit = (match[2] ?? "").toUpperCase();
  const factor = unit === "G" ? 1024 ** 3 : unit === "M" ? 1024 ** 2 : unit === "K" ? 1024 : 1;
  return Math.floor(Number(match[1]) * factor);
}

/**
 * `POST /v1/file/grep` `{path, pattern, case_insensitive?, fixed_strings?, max_results?,
 * max_file_size?, recursive?, include?, exclude?}`: searches files below `path` with `grep -E`
 * (or `-F`) run inside the sandbox, so a costly pattern costs the sandbox, not the server.
 * Matches come back with AIO paths and 1-based line numbers. Context lines are not returned
 * (`context_before`/`context_after` are empty), and the pattern is POSIX extended syntax, not
 * ripgrep's.
 */
export async function handleFileGrep(ctx: DataPlaneContext, request: DataPlaneRequest): Promise<void> {
  const fields = new RequestFields(await readJsonObject(request.req, ctx.options.maxJsonBytes));
  const path = fields.requiredString("path");
  const pattern = fields.requiredString("pattern");
  const caseInsensitive = fields.boolean("case_insensitive") ?? false;
  const fixed = fields.boolean("fixed_strings") ?? false;
  const maxResults = fields.integer("max_results", 1, 10_000) ?? 500;
  const maxFileSize = fields.string("max_file_size") ?? "1M";
  const recursive = fields.boolean("recursive") ?? true;
  fields.integer("context_before", 0, 20);
  fields.integer("context_after", 0, 20);
  fields.boolean("multiline");
  fields.integer("offset", 0);
  fields.string("type");
  const include = stringList(fields, "include");
  const exclude = stringList(fields, "exclude");
  const sizeBytes = parseSize(maxFileSize);
  if (sizeBytes === undefined) fields.fail("max_file_size", "value_error", "max_file_size must look like 1M, 500K or 100");
  fields.done();
  try {
    const aioRoot = ctx.paths.normalise(path);
    const root = ctx.paths.toBackend(path);
    if (aioRoot === undefined || root === undefined) throw fileFailure(path, "grep", "invalid_path", `Invalid path: ${path}`);
    const files = ctx.connection.files;
    if (files !== undefined) {
      // Confirms the root exists (and gives not_found otherwise) before running anything.
      try {
        await files.list(root, { signal: request.signal });
      } catch (error) {
        const failure = fileFailureOf(error, path, "grep");
        // A file as the root is fine: grep searches it alone.
        if (failure.data.error_type !== "invalid_target") throw failure;
      }
    }
    const workdir = ctx.connection.info.workdir;
    const searchRoot = root === workdir ? "." : `./${posix.relative(workdir, root)}`;
    const flags = [caseInsensitive ? "-i" : "", fixed ? "-F" : "-E", ...include.map((g) => `--include=${g}`), ...exclude.map((g) => `--exclude=${g}`), "-e", pattern].filter((f) => f !== "");
    const result = await ctx.connection.exec(
      {
        // Relative to the workdir (the command's directory): backends without a mount namespace
        // run commands where the workdir's absolute path does not exist.
        argv: ["sh", "-c", GREP_SCRIPT, "grep", searchRoot, recursive ? "" : "-maxdepth 1", String((sizeBytes ?? 1024 * 1024) + 1), ...flags],
        cwd: ctx.connection.info.workdir,
        timeoutMs: GREP_TIMEOUT_MS,
        maxOutputBytes: GREP_OUTPUT_BYTES,
      },
      { signal: request.signal },
    );
    const matches: GrepMatch[] = [];
    const filesMatched = new Set<string>();
    let truncated = result.stdoutTruncated || result.timedOut;
    for (const line of result.stdout.split("\n")) {
      const nul = line.indexOf("\0");
      if (nul < 0) continue;
      const backendFile = line.slice(0, nul);
      const rest = line.slice(nul + 1);
      const colon = rest.indexOf(":");
      const lineNumber = Number(rest.slice(0, colon));
      if (colon < 0 || !Number.isSafeInteger(lineNumber)) continue;
      const relative = posix.relative(searchRoot, backendFile);
      if (relative.startsWith("..")) continue;
      const file = relative === "" ? aioRoot : aioRoot === "/" ? `/${relative}` : `${aioRoot}/${relative}`;
      if (matches.length >= maxResults) {
        truncated = true;
        break;
      }
      filesMatched.add(file);
      matches.push({ file, line_number: lineNumber, line_content: rest.slice(colon + 1, colon + 1 + MAX_LINE_CHARS), context_before: [], context_after: [] });
    }
    sendOk(request.res, { path: aioRoot, pattern, matches, match_count: matches.length, files_searched: null, files_matched: filesMatched.size, truncated });
  } catch (error) {
    if (error instanceof FileOperationFailure) {
      sendFailure(request.res, 200, error.data.message, error.data);
      return;
    }
    if (request.res.destroyed) return;
    sendFailure(request.res, 500, "grep could not be run");
  }
}

function stringList(fields: RequestFields, field: string): string[] {
  const raw = fields.raw(field);
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || !raw.every((item) => typeof item === "string")) {
    fields.fail(field, "list_type", "Input should be a valid list of strings");
    return [];
  }
  return raw as string[];
}
