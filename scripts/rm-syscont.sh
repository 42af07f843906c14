#!/usr/bin/env bash
# Removes every system container: each Docker container whose runtime is
# sysbox-runc, running or not, is removed with `docker rm -f` (its volumes
# are kept); containers of any other runtime are left alone.
#
#   scripts/rm-syscont.sh [--dry-run]
#
#   --dry-run   list the system containers, remove nothing
#
# Exit status: 0 when none is left (or, with --dry-run, after listing them);
# 1 if dockerd does not answer or a container could not be removed.
# scripts/uninstall.sh --remove-containers runs the same removal. Sourced,
# this file only defines list_system_containers and remove_system_containers.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SYSCONT_RUNTIME=sysbox-runc

# Prints "ID NAME STATUS" (full id) for each container whose runtime is
# sysbox-runc. Fails only when dockerd does not answer.
list_system_containers() {
  local ids
  ids=$(docker ps -aq --no-trunc) || return 1
  [ -n "$ids" ] || return 0
  # A container removed between the two calls makes inspect fail for that
  # one only; the others are still printed. HostConfig.Runtime is the
  # runtime the container was created with, default-runtime included.
  # shellcheck disable=SC2086 # one id a word
  { docker inspect --format '{{.Id}} {{.HostConfig.Runtime}} {{.State.Status}} {{.Name}}' $ids 2>/dev/null || true; } \
    | awk -v rt="$SYSCONT_RUNTIME" '$2 == rt { sub(/^\//, "", $4); print $1, $4, $3 }'
}

# show_containers < LIST: the list as aligned lines for the user (short ids).
show_containers() {
  awk '{ printf "  %-30s %s  %s\n", $2, substr($1, 1, 12), $3 }'
}

# remove_system_containers: docker rm -f each system container. Returns 1
# (after naming them) if some could not be removed.
remove_system_containers() {
  local list ids left
  list=$(list_system_containers) || { log "error: dockerd does not answer (docker ps failed)"; return 1; }
  if [ -z "$list" ]; then
    log "no system containers"
    return 0
  fi
  mapfile -t ids < <(awk '{ print $1 }' <<<"$list")
  log "removing ${#ids[@]} system container(s) (docker rm -f):"
  show_containers <<<"$list" >&2
  # One call: the CLI removes them in parallel. Its errors are reported
  # below from what is left, so its own output is not needed.
  docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
  # Only the ones we tried count: others may be created meanwhile.
  left=$(list_system_containers | grep -Ff <(printf '%s\n' "${ids[@]}") || true)
  if [ -n "$left" ]; then
    log "error: $(wc -l <<<"$left") system container(s) could not be removed:"
    show_containers <<<"$left" >&2
    log "see: docker rm -f <name> (and the daemon logs)"
    return 1
  fi
  log "removed ${#ids[@]} system container(s)"
}

# The header above, without the shebang.
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

main() {
  local dry_run=0 list
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) dry_run=1 ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; return 2 ;;
    esac
    shift
  done
  command -v docker >/dev/null || { log "docker is not installed: no containers"; return 0; }
  if [ "$dry_run" = 0 ]; then
    remove_system_containers
    return
  fi
  list=$(list_system_containers) || { log "error: dockerd does not answer (docker ps failed)"; return 1; }
  if [ -z "$list" ]; then
    log "no system containers"
  else
    log "would remove $(wc -l <<<"$list") system container(s) (--dry-run: nothing removed):"
    show_containers <<<"$list" >&2
  fi
}

[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
