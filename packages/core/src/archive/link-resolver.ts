import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

/** The most symbolic links followed while resolving one path (Linux's limit). Past it, the link is refused. */
export const MAX_LINK_HOPS = 40;

/** Tells whether the relative path `path` (segments joined by `/`) is a symbolic link, and its target. */
export type LinkLookup = (path: string) => Promise<string | undefined>;

/**
 * Whether a symbolic link in the directory `parent` (segments relative to the destination root)
 * pointing to `target` lands inside the root, following every link on the way the way the kernel
 * would (`lookup` says which paths are links). Absolute targets, climbing above the root, and
 * more than {@link MAX_LINK_HOPS} hops all count as outside. Paths that do not exist are walked
 * lexically (still looking up every later segment), which is never more permissive than the kernel.
 */
export async function resolvesInside(parent: readonly string[], target: string, lookup: LinkLookup): Promise<boolean> {
  if (target.startsWith("/")) return false;
  const resolved = [...parent];
  // Segments still to walk, in reverse order (the next one is last).
  const pending = target.split("/").reverse();
  let hops = 0;
  while (pending.length > 0) {
    const segment = pending.pop()!;
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return false;
      resolved.pop();
      continue;
    }
    resolved.push(segment);
    // Every segment is looked up, even below a missing one: `missing/../link` must still see `link`.
    const link = await lookup(resolved.join("/"));
    if (link === undefined) continue;
    hops += 1;
    if (hops > MAX_LINK_HOPS || link.startsWith("/")) return false;
    resolved.pop();
    for (const next of link.split("/").reverse()) pending.push(next);
  }
  return true;
}

/** A {@link LinkLookup} that reads the disk under `root` without following anything. */
export function diskLookup(root: string): LinkLookup {
  return async (path) => {
    try {
      const stats = await lstat(join(root, path));
      return stats.isSymbolicLink() ? await readlink(join(root, path)) : undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw error;
    }
  };
}
