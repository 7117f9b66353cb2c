#!/usr/bin/env bash
# The one entry point behind the root package.json scripts. It runs on whatever Node the machine
# has (npm on Node 20 is enough): it brings Node 24 and pnpm (scripts/bootstrap.sh), installs the
# workspace when the lockfile changed, builds what the task needs, then runs the task on Node 24.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/bootstrap.sh
export NO_UPDATE_NOTIFIER=1 NPM_CONFIG_UPDATE_NOTIFIER=false

ensure_install() {
  local stamp=node_modules/.sandkit-install-stamp
  local want
  want="$(cat pnpm-lock.yaml package.json | cksum)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "sk: pnpm install" >&2
    pnpm install --frozen-lockfile --reporter=silent >&2
    echo "$want" >"$stamp"
  fi
}

build() {
  pnpm exec turbo run build --output-logs=errors-only --log-prefix=none "$@" >&2
}

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
  demo)
    ensure_install
    build --filter=@sandkit/example-quickstart...
    exec node examples/quickstart/dist/main.js "$@"
    ;;
  test)
    ensure_install
    build
    mkdir -p test-results
    set +e
    NO_COLOR="${NO_COLOR:-1}" pnpm exec vitest run --reporter=default --reporter=json \
      --outputFile.json=test-results/vitest.json "$@"
    rc=$?
    set -e
    node scripts/test-summary.mjs test-results/vitest.json || rc=1
    exit "$rc"
    ;;
  sandkit)
    ensure_install
    build --filter=@sandkit/cli...
    exec node packages/cli/dist/bin.js "$@"
    ;;
  build)
    ensure_install
    build "$@"
    ;;
  typecheck)
    ensure_install
    pnpm exec turbo run typecheck --output-logs=errors-only "$@"
    ;;
  lint:pkg)
    ensure_install
    pnpm exec turbo run lint:pkg --output-logs=errors-only "$@"
    ;;
  check)
    ensure_install
    pnpm exec turbo run build typecheck lint:pkg --output-logs=errors-only
    ;;
  bench)
    ensure_install
    build
    exec pnpm --filter @sandkit/bench run bench "$@"
    ;;
  changeset)
    ensure_install
    exec pnpm exec changeset "$@"
    ;;
  version-packages)
    ensure_install
    pnpm exec changeset version
    pnpm install --lockfile-only
    ;;
  *)
    echo "usage: scripts/sk.sh demo|test|sandkit|build|typecheck|lint:pkg|check|bench|changeset|version-packages" >&2
    exit 2
    ;;
esac
