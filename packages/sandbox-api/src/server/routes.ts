/** Lowercase hyphenated hex UUID, as Django's `uuid` path converter accepts (nothing else matches). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A matched route of the sandbox API. */
export type Route =
  | { readonly kind: "execute" }
  | { readonly kind: "specifications" }
  | { readonly kind: "usages" }
  | { readonly kind: "libraries" }
  | { readonly kind: "environment"; readonly uuid: string }
  | { readonly kind: "file"; readonly uuid: string; readonly path: string };

/** The methods each route answers (besides `OPTIONS`), in the order of the `Allow` header. */
export const ROUTE_METHODS: Readonly<Record<Route["kind"], readonly string[]>> = {
  execute: ["POST"],
  specifications: ["GET", "HEAD"],
  usages: ["GET", "HEAD"],
  libraries: ["GET", "HEAD"],
  environment: ["GET", "HEAD"],
  file: ["GET", "HEAD"],
};

/** The `Allow` header of a route, as Django's class-based views send it. */
export function allowHeader(kind: Route["kind"]): string {
  return [...ROUTE_METHODS[kind], "OPTIONS"].join(", ");
}

/**
 * Matches a request target (the query string is ignored). Trailing slashes are required, and
 * there is no redirect: a path without one does not match. The path is percent-decoded before
 * it is matched, like Django; a target that does not decode matches nothing.
 */
export function parseRoute(target: string): Route | undefined {
  const q = target.indexOf("?");
  const raw = q === -1 ? target : target.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (path.includes("\0")) return undefined;
  switch (path) {
    case "/execute/":
      return { kind: "execute" };
    case "/specifications/":
      return { kind: "specifications" };
    case "/usages/":
      return { kind: "usages" };
    case "/libraries/":
      return { kind: "libraries" };
  }
  const environment = /^\/environments\/([^/]+)\/$/.exec(path);
  if (environment !== null) return UUID_PATTERN.test(environment[1]!) ? { kind: "environment", uuid: environment[1]! } : undefined;
  const file = /^\/files\/([^/]+)\/(.+)\/$/s.exec(path);
  if (file !== null) return UUID_PATTERN.test(file[1]!) ? { kind: "file", uuid: file[1]!, path: file[2]! } : undefined;
  return undefined;
}
