# Brings Node 24 and pnpm into toolchain/ with the machine's own npm, then puts them first on PATH.
# Source it (". scripts/bootstrap.sh") or run it with a command ("scripts/bootstrap.sh pnpm test").
_sk_tc="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/toolchain"
_sk_node="v$(sed -n 's/.*"node": *"\([0-9][0-9.]*\)".*/\1/p' "$_sk_tc/package.json")"
_sk_pnpm="$(sed -n 's/.*"pnpm": *"\([0-9][0-9.]*\)".*/\1/p' "$_sk_tc/package.json")"
if [ "$("$_sk_tc/node_modules/.bin/node" -v 2>/dev/null)" != "$_sk_node" ] ||
   [ "$("$_sk_tc/node_modules/.bin/pnpm" -v 2>/dev/null)" != "$_sk_pnpm" ]; then
  echo "bootstrap: installing node $_sk_node and pnpm $_sk_pnpm into toolchain/" >&2
  rm -rf "$_sk_tc/node_modules"
  (cd "$_sk_tc" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) ||
    { echo "bootstrap: npm install in toolchain/ failed" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$_sk_tc/node_modules/.bin:$PATH"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
unset _sk_tc _sk_node _sk_pnpm
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then exec "$@"; fi
