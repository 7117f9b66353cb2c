import { lstat, readlink } from "node:fs/promises";
import { errnoOf, type ErrorSite, invalid } from "./local-errors.js";

/** Where the workspace appears to commands and in every sandbox path. */
export const WORKSPACE_MOUNT = "/workspace";

/** How many symbolic links one path may pass through (as Linux's `MAXSYMLINKS`). */
const MAX_LINKS = 40;

/**
 * Splits a sandbox path into its components below `/workspace`, without touching the disk.
 * Relative paths are relative to `/workspace`. `.` and empty components are dropped. A path with a
 * `..` component, a NUL byte, or anywhere outside `/workspace` is refused with `ValidationError`.
 */
export function workspaceSegments(path: unknown, field: string, site: ErrorSite): string[] {
  if (typeof path !== "string" || path.length === 0) throw invalid(`${field} must be a non-empty string`, field, site);
  if (path.includes("\0")) throw invalid(`${field} must not contain a NUL byte`, field, site);
  const parts = (path.startsWith("/") ? path : `${WORKSPACE_MOUNT}/${path}`).split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw invalid(`${field} must not contain '..' segments: ${JSON.stringify(path)}`, field, site);
  if (parts[0] !== WORKSPACE_MOUNT.slice(1)) {
    throw invalid(`${field} ${JSON.stringify(path)} is outside the sandbox workspace ${WORKSPACE_MOUNT}`, field, site);
  }
  return parts.slice(1);
}

/** The sandbox path of components below `/workspace`. */
export function sandboxPathOf(segments: readonly string[]): string {
  return segments.length === 0 ? WORKSPACE_MOUNT : `${WORKSPACE_MOUNT}/${segments.join("/")}`;
}

/** A sandbox path resolved inside one workspace. */
export interface ResolvedWorkspacePath {
  /** The components below the workspace after symbolic links were resolved; none is a link (when they exist). */
  readonly segments: readonly string[];
  /** `segments` as a sandbox path. */
  readonly sandboxPath: string;
  /** Whether the whole path exists. When false, the missing tail is in `segments` as given. */
  readonly exists: boolean;
}

/**
 * Resolves a sandbox path inside the workspace at `workspaceDir` (a host directory), the way the
 * kernel would inside the sandbox, but without ever following a link on the host: each existing
 * component is examined with `lstat`, and each symbolic link's target is interpreted in the
 * sandbox's namespace (absolute targets must be under `/workspace`, relative ones may not climb
 * above it). A path that would leave the workspace is refused with `ValidationError`, so nothing
 * outside is ever opened.
 *
 * With `followFinal: false` a link in the last component is kept as the entry itself (its target
 * is still checked, so that a link pointing out of the workspace is refused for every operation).
 */
export async function resolveWorkspacePath(
  workspaceDir: string,
  path: unknown,
  options: { readonly field: string; readonly followFinal: boolean; readonly site: ErrorSite },
): Promise<ResolvedWorkspacePath> {
  const escape = (): never => {
    throw invalid(
      `${options.field} ${JSON.stringify(path)} leads outside the sandbox workspace through a symbolic link`,
      options.field,
      options.site,
    );
  };
  const tooDeep = (): never => {
    throw invalid(`${options.field} ${JSON.stringify(path)} passes through too many symbolic links`, options.field, options.site);
  };
  const state = { links: 0, escape, tooDeep };
  const queue = workspaceSegments(path, options.field, options.site);
  return walk(workspaceDir, [], queue, options.followFinal, state);
}

interface WalkState {
  links: number;
  readonly escape: () => never;
  readonly tooDeep: () => never;
}

/** Resolves `queue` from the (real, link-free) components `start`. */
async function walk(
  workspaceDir: string,
  start: readonly string[],
  queue: string[],
  followFinal: boolean,
  state: WalkState,
): Promise<ResolvedWorkspacePath> {
  const resolved = [...start];
  let missing = false;
  while (queue.length > 0) {
    const segment = queue.shift()!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) state.escape();
      resolved.pop();
      continue;
    }
    if (missing) {
      resolved.push(segment);
      continue;
    }
    const hostPath = `${workspaceDir}/${[...resolved, segment].join("/")}`;
    let isLink: boolean;
    try {
      isLink = (await lstat(hostPath)).isSymbolicLink();
    } catch (error) {
      const code = errnoOf(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      missing = true;
      resolved.push(segment);
      continue;
    }
    if (!isLink) {
      resolved.push(segment);
      continue;
    }
    if (++state.links > MAX_LINKS) state.tooDeep();
    const target = await readlink(hostPath);
    let from: string[] = [...resolved];
    let targetParts = target.split("/");
    if (target.startsWith("/")) {
      const parts = targetParts.filter((part) => part !== "" && part !== ".");
      if (parts[0] !== WORKSPACE_MOUNT.slice(1)) state.escape();
      from = [];
      targetParts = parts.slice(1);
    } else if (target.length === 0) {
      state.escape();
    }
    if (queue.length === 0 && !followFinal) {
      // The link itself is the entry; still refuse it when it points out of the workspace.
      await walk(workspaceDir, from, targetParts, true, state);
      const segments = [...resolved, segment];
      return { segments, sandboxPath: sandboxPathOf(segments), exists: true };
    }
    resolved.length = 0;
    resolved.push(...from);
    queue.unshift(...targetParts);
  }
  return { segments: resolved, sandboxPath: sandboxPathOf(resolved), exists: !missing };
}
