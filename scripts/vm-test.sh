#!/usr/bin/env bash
# The VM stage of the test suite: sysbox-ts installed and tested on a second
# host, a Debian 12 guest with systemd, pure cgroup v2 and Docker's systemd
# cgroup driver (scripts/vm.sh).
#
#   scripts/vm-test.sh
#
# Builds (or reuses) the guest image, loads the test images from this host's
# dockerd into a provisioned disk layer (cached by image ID), copies the
# repository with the binaries from build/ and this host's bun onto a 9p
# share, and boots a throwaway copy of that layer that runs
# scripts/vm-guest.sh: install.sh, then `bun test` of test/vm/*.guest.ts.
# The guest's output, with bun's summary lines, is printed here; the share is
# kept in /var/cache/sysbox-ts/vm/last-run (install.log, journal.log,
# console.log) for a look afterwards. Exits non-zero if anything failed.
# SYSBOX_VM_TESTS="cgroup syscont" runs only those test/vm/<name>.guest.ts.
# While the guest runs, its share is /var/cache/sysbox-ts/vm/.share.*: a
# script dropped in its debug/ directory runs in the guest (vm-guest.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_NAME=vm-test

ROOT=$(project_root)
VM_CACHE=${SYSBOX_VM_CACHE:-/var/cache/sysbox-ts/vm}
TAR_DIR=$VM_CACHE/images
LAST_RUN=$VM_CACHE/last-run
IMAGES=(sysbox-test/debian:bookworm sysbox-test/syscont:bookworm sysbox-test/static:busybox)
BINARIES=(sysbox-runc sysbox-mgr sysbox-fs)

require_root
cd "$ROOT"

# build/ must hold binaries of these sources: the guest cannot build them.
build_is_current() {
  local name
  for name in "${BINARIES[@]}"; do
    [ -x "build/$name" ] || return 1
    [ -z "$(find cmd internal package.json package-lock.json -newer "build/$name" -type f -print -quit)" ] || return 1
  done
}

# save_image TAG: a `docker save` tar named after the image's ID (kept
# between runs; an older one of the same tag is removed). Prints its path.
save_image() {
  local tag=$1 id base f
  base=${tag//[\/:]/_}
  if [ "$DOCKER_UP" = 0 ]; then
    f=$(find "$TAR_DIR" -maxdepth 1 -name "$base-*.tar" -printf '%T@ %p\n' 2>/dev/null | sort -rn | awk 'NR == 1 { print $2 }')
    [ -n "$f" ] || die "dockerd is not running (scripts/dockerd.sh start) and no saved $tag is cached; the guest's images come from this host's dockerd"
    warn "dockerd is not running; using the saved ${f##*/}"
    echo "$f"
    return 0
  fi
  id=$(docker image inspect --format '{{.Id}}' "$tag") || die "image $tag is missing (scripts/images.sh all makes it)"
  id=${id#sha256:}
  f=$TAR_DIR/$base-${id:0:16}.tar
  if [ ! -f "$f" ]; then
    log "docker save $tag"
    docker save -o "$f.tmp" "$tag"
    mv "$f.tmp" "$f"
    find "$TAR_DIR" -maxdepth 1 -name "$base-*.tar" ! -name "${f##*/}" -delete
  fi
  echo "$f"
}

# The repository as the guest gets it: tracked and new files (not ignored),
# plus the built binaries, with their times, so install.sh sees them current.
repo_tar() {
  local out=$1
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard | grep -zv '^node_modules$' \
      | tar --null -T - -cf "$out"
  else
    tar --exclude=./node_modules --exclude=./build --exclude=./.git -cf "$out" .
  fi
  tar -rf "$out" "${BINARIES[@]/#/build/}"
}

main() {
  local t0 tars=() tag layer share rc=0
  t0=$(now_s)
  if ! build_is_current; then
    log "build/ is missing or older than the sources; bun run build"
    bun run build
  fi
  DOCKER_UP=1
  docker info >/dev/null 2>&1 || DOCKER_UP=0
  bash scripts/vm.sh build
  mkdir -p "$TAR_DIR"
  for tag in "${IMAGES[@]}"; do tars+=("$(save_image "$tag")"); done
  layer=$(bash scripts/vm.sh provision "${tars[@]}")
  share=$(mktemp -d "$VM_CACHE/.share.XXXXXX")
  repo_tar "$share/repo.tar"
  cp "$(readlink -f "$(command -v bun)")" "$share/bun"
  cp scripts/vm-guest.sh "$share/job.sh"
  [ -z "${SYSBOX_VM_TESTS:-}" ] || printf '%s\n' "$SYSBOX_VM_TESTS" >"$share/tests.txt"
  log "prepared in $(elapsed_since "$t0")s; running the guest"
  # The guest's output as it comes: the guest writes job.log on the share.
  : >"$share/job.log"
  tail -n +1 -s 1 -F "$share/job.log" 2>/dev/null &
  local tail_pid=$!
  bash scripts/vm.sh run "$share" "$layer" || rc=$?
  sleep 1.5
  kill "$tail_pid" 2>/dev/null || true
  wait "$tail_pid" 2>/dev/null || true
  rm -f "$share/repo.tar" "$share/bun"
  rm -rf "$LAST_RUN"
  mv "$share" "$LAST_RUN"
  log "VM stage: exit $rc in $(elapsed_since "$t0")s (logs: $LAST_RUN)"
  return "$rc"
}

main "$@"
