#!/usr/bin/env bash
# The whole test suite, as root on a Debian or Ubuntu machine (fresh or not):
# toolchain, static checks, build, unit and root tests, then end-to-end tests
# against dockerd with the built runtime installed, the same product
# installed and tested in a Debian 12 VM with systemd and cgroup v2
# (scripts/vm-test.sh), the benchmarks, and last a real uninstall and
# reinstall (test/uninstall.e2e.ts).
#
#   scripts/test.sh          (also: npm test, .ci/run)
#
# Exits non-zero if any check or test step failed; the last line sums up.
# dockerd and the sysbox daemons it started are stopped on exit, even on
# failure; a dockerd or daemons that were already running are left running.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_NAME="test"

ROOT=$(project_root)
cd "$ROOT" || exit 1
require_root

PASSED=()
FAILED=()
SKIPPED=()
T_START=$(now_s)
# Per-test timeout: tests that start containers need more than bun's default
# 5 s (bunfig.toml has no setting for it; a test's own timeout still wins).
TEST_TIMEOUT_MS=120000
# Test counts summed over every `bun test` run (see bun_test).
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0

# step NAME CMD...: run one step, record and print its outcome and time.
step() {
  local name=$1 t0 rc
  shift
  log "=== $name: $*"
  t0=$(now_s)
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    PASSED+=("$name")
    log "=== $name: ok ($(elapsed_since "$t0")s)"
  else
    FAILED+=("$name")
    log "=== $name: FAILED with exit code $rc ($(elapsed_since "$t0")s)"
  fi
  return "$rc"
}

skip() {
  SKIPPED+=("$1")
  log "=== $1: skipped ($2)"
}

# bun_test ARGS...: `bun test ARGS...`, with its output shown as it comes and
# its " N pass" / " N fail" / " N skip" summary lines added to the totals. A
# run that fails without reporting a failed test (a crash, a load error)
# counts as one failed test, so the totals never look clean when it was not.
bun_test() {
  counted bun test --timeout "$TEST_TIMEOUT_MS" "$@"
}

# counted CMD...: run CMD, which prints bun test's output (its own or a
# test VM's), and add the summary lines it printed to the totals, as bun_test.
counted() {
  local out rc counts p f s pid tail_pid
  out=$(mktemp)
  # Output goes to a file that `tail` follows, not through a pipe: a process a
  # test left behind with bun's stdout or stderr would hold a pipe open, and
  # the step would wait for it after bun has exited.
  "$@" >"$out" 2>&1 &
  pid=$!
  tail -n +1 -s 0.2 -f --pid="$pid" "$out" &
  tail_pid=$!
  wait "$pid"
  rc=$?
  wait "$tail_pid" 2>/dev/null || true
  counts=$(awk '
    { gsub(/\033\[[0-9;]*m/, "") }
    /^ *[0-9]+ pass$/ { p += $1 }
    /^ *[0-9]+ fail$/ { f += $1 }
    /^ *[0-9]+ skip$/ { s += $1 }
    END { printf "%d %d %d", p, f, s }' "$out")
  rm -f "$out"
  read -r p f s <<<"$counts"
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
  TESTS_PASSED=$((TESTS_PASSED + p))
  TESTS_FAILED=$((TESTS_FAILED + f))
  TESTS_SKIPPED=$((TESTS_SKIPPED + s))
  return "$rc"
}

summary() {
  local total counts
  total=$(elapsed_since "$T_START")
  log "passed: ${PASSED[*]:-none}"
  [ "${#SKIPPED[@]}" -eq 0 ] || log "skipped: ${SKIPPED[*]}"
  [ "${#FAILED[@]}" -eq 0 ] || log "FAILED: ${FAILED[*]}"
  # A plain totals line for CI systems that do not parse bun's output.
  counts="$TESTS_PASSED passed, $TESTS_FAILED failed"
  [ "$TESTS_SKIPPED" -eq 0 ] || counts+=", $TESTS_SKIPPED skipped"
  echo "$counts"
  if [ "${#FAILED[@]}" -eq 0 ]; then
    echo "test.sh: PASS (${#PASSED[@]} steps passed, ${#SKIPPED[@]} skipped, ${total}s)"
  else
    echo "test.sh: FAIL (${#FAILED[@]} of $((${#PASSED[@]} + ${#FAILED[@]})) steps failed: ${FAILED[*]}; ${total}s)"
  fi
}

# Test directories that hold at least one *.test.ts (bun test fails when a
# path filter matches nothing).
test_dirs() {
  local d
  for d in "$@"; do
    [ -n "$(find "$d" -name '*.test.ts' -print -quit 2>/dev/null)" ] && echo "./$d/"
  done
}

install_deps() {
  if [ -f package-lock.json ]; then
    command -v npm >/dev/null || apt_install_missing nodejs npm
    npm ci --no-audit --no-fund
  else
    bun install --frozen-lockfile
  fi
}

# Copy then rename, so a running old binary is never written over (ETXTBSY).
install_binaries() {
  local f name
  for f in build/sysbox-*; do
    name=${f##*/}
    cp "$f" "/usr/bin/.$name.new" && mv -f "/usr/bin/.$name.new" "/usr/bin/$name" || return 1
    log "installed /usr/bin/$name"
  done
}

DOCKERD_OURS=0
DAEMONS_OURS=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ "$DAEMONS_OURS" = 0 ] || bash scripts/daemons.sh stop || true
  [ "$DOCKERD_OURS" = 0 ] || bash scripts/dockerd.sh stop || true
  summary
  [ "${#FAILED[@]}" -eq 0 ] && exit "$rc" || exit 1
}
trap cleanup EXIT
trap 'FAILED+=(interrupted); exit 130' INT TERM

# --- toolchain and static checks ---------------------------------------
step bun ensure_bun || exit 1
step deps install_deps || exit 1
step typecheck bunx tsc --noEmit -p .
step check-imports bun scripts/check-imports.ts
BUILD_OK=1
step build bun run build || BUILD_OK=0

# --- unit tests and tests against the real kernel ----------------------
mapfile -t UNIT_DIRS < <(test_dirs internal cmd scripts)
if [ "${#UNIT_DIRS[@]}" -gt 0 ]; then
  step unit bun_test "${UNIT_DIRS[@]}"
else
  skip unit "no *.test.ts under internal/ cmd/ scripts/"
fi

# --- end to end: dockerd, images, the built runtime ---------------------
E2E_OK=1
if [ "$BUILD_OK" = 0 ]; then
  skip e2e "the build failed"
  E2E_OK=0
else
  bash scripts/dockerd.sh status >/dev/null 2>&1 || DOCKERD_OURS=1
  step dockerd bash scripts/dockerd.sh start || E2E_OK=0
  [ "$E2E_OK" = 0 ] || step images bash scripts/images.sh all || E2E_OK=0
  [ "$E2E_OK" = 0 ] || step install install_binaries || E2E_OK=0
  if [ "$E2E_OK" = 1 ]; then
    # An installation's daemons are restarted on the binaries just installed
    # and left running afterwards.
    if bash scripts/daemons.sh status >/dev/null 2>&1; then
      bash scripts/daemons.sh stop || true
    else
      DAEMONS_OURS=1
    fi
    step daemons bash scripts/daemons.sh start || E2E_OK=0
  fi
  if [ "$E2E_OK" = 0 ]; then
    skip e2e "a set-up step failed"
  elif [ -n "$(test_dirs test)" ]; then
    step e2e bun_test ./test/
  else
    skip e2e "no *.test.ts under test/"
  fi
fi

# --- a second host: Debian 12 with systemd, pure cgroup v2 and Docker's
# systemd cgroup driver, in a VM (scripts/vm-test.sh; the guest image and the
# provisioned disk are cached in /var/cache/sysbox-ts/vm). It installs with
# install.sh inside the guest and runs test/vm/*.guest.ts there; their
# counts join the totals. SYSBOX_SKIP_VM=1 leaves it out. -----------------
if [ "${SYSBOX_SKIP_VM:-0}" = 1 ]; then
  skip vm "SYSBOX_SKIP_VM=1"
elif [ "$E2E_OK" = 0 ]; then
  skip vm "a set-up step failed"
else
  step vm counted bash scripts/vm-test.sh
fi

# --- benchmarks (informational: timings never fail the run) -------------
if [ "$BUILD_OK" = 1 ]; then
  log "=== bench (informational)"
  bun bench/run.ts || warn "the benchmark run failed; not counted as a test failure"
else
  skip bench "the build failed"
fi

# --- uninstall and reinstall, for real (last: it removes every system
# container and stops the daemons, then scripts/install.sh puts them back;
# its file name keeps the e2e step above from running it) -----------------
if [ "$E2E_OK" = 1 ]; then
  step uninstall bun_test ./test/uninstall.e2e.ts
else
  skip uninstall "a set-up step failed"
fi
