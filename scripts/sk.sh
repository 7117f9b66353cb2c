#!/usr/bin/env bash
# The one entry point behind the root package.json scripts. It runs on whatever Node the machine
# has (npm on Node 20 is enough): it brings Node 24 and pnpm (scripts/bootstrap.sh), installs the
# workspace when the lockfile changed, builds what the task needs, then runs the task on Node 24.
set -euo pipefail
# npm and pnpm run scripts in the repo root; INIT_CWD is where the user typed the command.
caller="${INIT_CWD:-$PWD}"
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
    local log
    log="$(mktemp)"
    if ! pnpm install --frozen-lockfile --reporter=append-only >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      exit 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
  fi
}

build() {
  pnpm exec turbo run build --output-logs=errors-only --log-prefix=none "$@" >&2
}

# Builds without a word unless it fails, for the commands whose output is the point (demo, sandkit).
quiet_build() {
  local log
  log="$(mktemp)"
  if ! pnpm exec turbo run build --output-logs=errors-only --log-prefix=none "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
  demo)
    ensure_install
    quiet_build --filter=@sandkit/example-quickstart...
    exec node examples/quickstart/dist/main.js "$@"
    ;;
  test)
    ensure_install
    build
    mkdir -p test-results
    # vitest runs one file fewer than the cores at once: a single file on 2 cores. Most tests
    # wait rather than compute (child processes, loopback sockets, timers), so run at least two
    # (4 made timing-sensitive tests flaky on a busy 2-core machine; 2 is nearly as fast).
    workers=()
    case " $* " in
      *" --maxWorkers"*) ;;
      *)
        cores="$(node -p 'require("node:os").availableParallelism()')"
        workers=(--maxWorkers="$((cores - 1 > 2 ? cores - 1 : 2))")
        ;;
    esac
    set +e
    # vitest straight from its package, not through pnpm's bin shim: the shim exports NODE_PATH
    # with node_modules/.pnpm/node_modules, where every workspace package and hoisted dependency
    # is visible, and tests would find packages that users' Node would not.
    NO_COLOR="${NO_COLOR:-1}" node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
      --outputFile.json=test-results/vitest.json "${workers[@]}" "$@"
    rc=$?
    set -e
    node scripts/test-summary.mjs test-results/vitest.json "$rc" || rc=1
    exit "$rc"
    ;;
  sandkit)
    ensure_install
    quiet_build --filter=@sandkit/cli...
    # Run from the caller's directory, so that `sandkit run ./script.py` finds the script.
    cd "$caller"
    exec node "$root/packages/cli/dist/bin.js" "$@"
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
