import { posix } from "node:path";
import { ValidationError } from "./errors/validation-error.js";

/**
 * Resolves a sandbox path the way every backend sees it: relative paths are relative to the
 * sandbox's workdir; the result is absolute and normalised. Paths with a `..` segment, a NUL byte,
 * or no characters are refused with `ValidationError`, whatever the backend, so that a path that
 * is safe on one backend is safe on all of them.
 */
export function resolveSandboxPath(path: string, workdir: string, field = "path"): string {
  if (typeof path !== "string" || path.length === 0) {
    throw new ValidationError(`${field} must be a non-empty string`, { field });
  }
  if (path.includes("\0")) {
    throw new ValidationError(`${field} must not contain a NUL byte`, { field });
  }
  if (path.split("/").includes("..")) {
    throw new ValidationError(`${field} must not contain '..' segments: ${JSON.stringify(path)}`, { field });
  }
  const absolute = path.startsWith("/") ? path : posix.join(workdir, path);
  const normalised = posix.normalize(absolute);
  return normalised.length > 1 && normalised.endsWith("/") ? normalised.slice(0, -1) : normalised;
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}
