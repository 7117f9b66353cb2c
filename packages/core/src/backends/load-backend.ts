import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BackendNotInstalledError } from "../errors/backend-not-installed-error.js";
import { ProtocolError } from "../errors/protocol-error.js";
import { UnknownBackendError } from "../errors/unknown-backend-error.js";
import { type BackendModule, isBackendModule } from "./backend-module.js";
import { KNOWN_BACKEND_NAMES, KNOWN_BACKENDS } from "./known-backends.js";

/**
 * Where to look for an adapter package, in order: from `@sandkit/core` itself (npm's flat layout,
 * or pnpm when the adapter is linked as core's optional peer), then from the app's working
 * directory and from the main script's directory (pnpm's isolated layout, where only the app can
 * see what it installed).
 */
function candidateUrls(packageName: string): string[] {
  const urls: string[] = [];
  try {
    urls.push(import.meta.resolve(packageName));
  } catch {
    // Not visible from core; try from the app below.
  }
  const bases = [process.cwd(), process.argv[1] === undefined ? undefined : dirname(resolve(process.argv[1]))];
  for (const base of bases) {
    if (base === undefined) continue;
    try {
      const found = createRequire(join(base, "__sandkit_resolve__.js")).resolve(packageName);
      urls.push(pathToFileURL(found).href);
    } catch {
      // Not installed there either.
    }
  }
  return [...new Set(urls)];
}

const cache = new Map<string, Promise<BackendModule>>();

/** Loads the adapter package for a backend name, with errors that say what to install. */
export function loadBackendModule(name: string): Promise<BackendModule> {
  const known = KNOWN_BACKENDS[name];
  if (known === undefined) {
    return Promise.reject(
      new UnknownBackendError(`unknown backend ${JSON.stringify(name)}; known backends: ${KNOWN_BACKEND_NAMES.join(", ")}`, {
        known: KNOWN_BACKEND_NAMES,
        backend: name,
        operation: "create",
      }),
    );
  }
  let pending = cache.get(name);
  if (pending === undefined) {
    pending = importAdapter(name, known.packageName);
    cache.set(name, pending);
    pending.catch(() => cache.delete(name));
  }
  return pending;
}

async function importAdapter(name: string, packageName: string): Promise<BackendModule> {
  const [url] = candidateUrls(packageName);
  if (url === undefined) {
    throw new BackendNotInstalledError(
      `backend ${JSON.stringify(name)} needs the package ${packageName}, which is not installed; run: npm install ${packageName}`,
      { packageName, backend: name, operation: "create" },
    );
  }
  const loaded: unknown = await import(url);
  if (!isBackendModule(loaded)) {
    throw new ProtocolError(`${packageName} does not export createBackend(); is it a sandkit adapter of a compatible version?`, {
      backend: name,
      operation: "create",
    });
  }
  return loaded;
}
