import { createRequire } from "node:module";

let cached: string | undefined;

/** The version of `@sandkit/core`, read once from its package.json (for the user agent). */
export function sandkitVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = createRequire(import.meta.url)("../../package.json") as { name?: unknown; version?: unknown };
      cached = pkg.name === "@sandkit/core" && typeof pkg.version === "string" ? pkg.version : "0.0.0";
    } catch {
      cached = "0.0.0";
    }
  }
  return cached;
}
