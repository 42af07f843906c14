#!/usr/bin/env bash
# Uninstalls sysbox-ts, the reverse of scripts/install.sh. As root, from a clone:
#
#   scripts/uninstall.sh [--remove-containers] [--purge]
#
#   --remove-containers  first remove the system containers (docker rm -f of
#                        each container whose runtime is sysbox-runc, running
#                        or not); without it, the uninstall refuses while any
#                        exists, and changes nothing
#   --purge              also remove the state and logs: /var/lib/sysbox,
#                        /var/lib/sysboxfs, /run/sysbox, the daemon logs, the
#                        sysbox user and its lines in /etc/subuid, /etc/subgid
#
# Steps: the system containers (refuse, or remove them); the sysbox-runc
# runtime out of /etc/docker/daemon.json (every other key kept; a
# "default-runtime": "sysbox-runc" is dropped too, and said so) and dockerd
# reloaded until `docker info` no longer lists it; the daemons stopped (systemd units stopped,
# disabled and removed where systemd is PID 1; otherwise the processes named
# by the pid files in /run/sysbox); what is left mounted under
# /var/lib/sysboxfs and /run/sysbox unmounted; /usr/bin/sysbox-runc, sysbox-mgr, sysbox-fs
# removed. Containers of other runtimes, images and Docker are not touched.
#
# Re-running is harmless: what is gone is skipped; with nothing left to
# remove it says so and exits 0. scripts/rm-syscont.sh removes the system
# containers alone. Environment: SYSBOX_LOG_DIR (default /var/log), where
# scripts/daemons.sh puts the daemon logs.
set -euo pipefail
LOG_NAME=uninstall
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/rm-syscont.sh"

ROOT=$(project_root)
RUNTIME=sysbox-runc
BINARIES=(sysbox-runc sysbox-mgr sysbox-fs)
# Stopped in this order: the reverse of the start order.
DAEMONS=(sysbox-fs sysbox-mgr)
UNITS=(sysbox.service sysbox-mgr.service sysbox-fs.service)
BIN_DIR=/usr/bin
UNIT_DIR=/lib/systemd/system
# Where `systemctl enable` puts its links (*.wants/<unit>).
UNIT_LINK_DIR=/etc/systemd/system
RUN_DIR=/run/sysbox
DATA_DIR=/var/lib/sysbox
FS_DIR=/var/lib/sysboxfs
LOG_DIR=${SYSBOX_LOG_DIR:-/var/log}
DAEMON_JSON=/etc/docker/daemon.json
DOCKER_PIDFILE=/var/run/docker.pid
SUBID_FILES=(/etc/subuid /etc/subgid)
SYSBOX_USER=sysbox
MOUNTINFO=/proc/self/mountinfo
# Each daemon's pid files: the one scripts/daemons.sh writes, the daemon's own.
declare -A PIDFILES=(
  [sysbox-mgr]="sysbox-mgr.pid sysmgr.pid"
  [sysbox-fs]="sysbox-fs.pid sysfs.pid"
)
# argv[0] of sysbox-fs's keeper processes: "sysbox-fs-keeper <mount> <state file>".
KEEPER_TAG=sysbox-fs-keeper
STOP_TIMEOUT=15
RELOAD_TIMEOUT=20

# The header above, without the shebang.
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

STEP_N=0
STEP_TOTAL=5
stage() { STEP_N=$((STEP_N + 1)); log "[$STEP_N/$STEP_TOTAL] $*"; }

# What this run changed; none at all means nothing was installed.
CHANGES=0
changed() { CHANGES=$((CHANGES + 1)); }

systemd_is_init() { [ -d /run/systemd/system ]; }

# --- system containers ----------------------------------------------------

# refuse_containers LIST [WHAT]: name them, say how to go on, exit 1.
refuse_containers() {
  local list=$1 what=${2:-nothing was changed} n
  n=$(wc -l <<<"$list")
  {
    echo "uninstall.sh: $n system container(s) exist (Docker containers with runtime $RUNTIME); $what:"
    show_containers <<<"$list"
    echo "They cannot run without sysbox-ts. Remove them and uninstall in one go:"
    echo "  sudo bash scripts/uninstall.sh --remove-containers"
    echo "or remove them first (scripts/rm-syscont.sh --dry-run lists them):"
    echo "  sudo bash scripts/rm-syscont.sh"
  } >&2
  exit 1
}

check_containers() {
  local list
  if ! command -v docker >/dev/null; then
    log "docker is not installed: no containers to check"
    return
  fi
  docker info >/dev/null 2>&1 \
    || die "dockerd does not answer (docker info failed), so the system containers cannot be listed; start dockerd and run this again"
  list=$(list_system_containers) || die "docker ps failed; start dockerd and run this again"
  if [ -z "$list" ]; then
    log "no system containers"
    return
  fi
  [ "$REMOVE_CONTAINERS" = 1 ] || refuse_containers "$list"
  remove_system_containers || die "some system containers could not be removed (above); nothing else was changed"
  changed
}

# Containers created while the runtime was being unregistered (a race with
# someone else's docker run): removed with --remove-containers, else the
# uninstall stops while the daemons can still remove them.
recheck_containers() {
  local list
  command -v docker >/dev/null && docker info >/dev/null 2>&1 || return 0
  list=$(list_system_containers) || return 0
  [ -n "$list" ] || return 0
  [ "$REMOVE_CONTAINERS" = 1 ] \
    || refuse_containers "$list" "they were created after the check; $RUNTIME is no longer registered in Docker, but the daemons still run to remove them"
  remove_system_containers || die "some system containers could not be removed (above)"
}

# --- Docker ---------------------------------------------------------------

# The runtimes a running dockerd lists, space-separated; fails if it does not answer.
docker_runtimes() {
  local out
  out=$(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}' 2>/dev/null) || return 1
  echo " $out "
}

docker_lists_runtime() {
  local rts
  rts=$(docker_runtimes) || return 1
  [[ $rts == *" $RUNTIME "* ]]
}

# The pid of the host's dockerd (never one inside a container).
dockerd_pid() { host_dockerd_pid "$DOCKER_PIDFILE"; }

# reload_dockerd CHANGED: make a running dockerd re-read daemon.json (when
# CHANGED is 1, or it still lists the runtime) and wait until it no longer
# lists the runtime.
reload_dockerd() {
  local file_changed=$1 pid deadline
  if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    [ "$file_changed" = 0 ] || log "dockerd is not running; it reads $DAEMON_JSON when it starts"
    return 0
  fi
  if ! docker_lists_runtime; then
    if [ "$file_changed" = 0 ]; then log "dockerd does not list runtime $RUNTIME"; return 0; fi
  fi
  if systemd_is_init && systemctl is-active --quiet docker.service; then
    log "systemctl reload docker.service (dockerd re-reads $DAEMON_JSON)"
    systemctl reload docker.service || die "systemctl reload docker.service failed (see: journalctl -u docker)"
  else
    pid=$(dockerd_pid) \
      || die "dockerd answers but its process was not found (no $DOCKER_PIDFILE); send it SIGHUP so it re-reads $DAEMON_JSON, and run this again"
    log "dockerd (pid $pid): SIGHUP, so it re-reads $DAEMON_JSON"
    kill -HUP "$pid"
  fi
  changed
  # dockerd reloads asynchronously.
  deadline=$((SECONDS + RELOAD_TIMEOUT))
  while docker_lists_runtime; do
    [ "$SECONDS" -lt "$deadline" ] \
      || die "dockerd still lists runtime $RUNTIME ${RELOAD_TIMEOUT}s after the reload; its log says why (a flag that $DAEMON_JSON repeats, or an invalid value, makes it keep its old settings): /var/log/dockerd.log or journalctl -u docker"
    sleep 0.3
  done
  log "dockerd no longer lists runtime $RUNTIME; runtimes: $(docker_runtimes | xargs)"
  if [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" = "$RUNTIME" ]; then
    warn "dockerd still uses $RUNTIME as its default runtime: a reload does not reset a removed default-runtime. Restart dockerd (systemctl restart docker, or scripts/dockerd.sh stop and start) before running containers"
  fi
}

unregister_runtime() {
  local before out file_changed=0
  if [ -f "$DAEMON_JSON" ] && grep -q "\"$RUNTIME\"" "$DAEMON_JSON"; then
    command -v bun >/dev/null \
      || die "bun is needed to edit $DAEMON_JSON (npm install -g bun@1.4); or remove the \"$RUNTIME\" runtime from it by hand and run this again"
    before=$(cat "$DAEMON_JSON")
    out=$(bun "$ROOT/scripts/daemon-json.ts" remove --file "$DAEMON_JSON" --path "$BIN_DIR/$RUNTIME" 2>&1) \
      || die "${out#daemon-json: }; fix it and run this again (nothing but the system containers was changed)"
    if [[ $out == *"; kept" ]]; then
      # Registered by something else (another path): not ours to remove.
      warn "$out"
      return 0
    fi
    log "$out"
    if [ "$(cat "$DAEMON_JSON")" != "$before" ]; then file_changed=1; changed; fi
  else
    log "$DAEMON_JSON does not register $RUNTIME"
  fi
  reload_dockerd "$file_changed"
}

# --- daemons --------------------------------------------------------------

stop_units() {
  local u present=()
  for u in "${UNITS[@]}"; do
    if [ -e "$UNIT_DIR/$u" ] || systemctl is-active --quiet "$u" 2>/dev/null; then present+=("$u"); fi
  done
  if [ "${#present[@]}" -eq 0 ]; then
    log "no sysbox systemd units"
    return 0
  fi
  changed
  # sysbox.service binds the daemons' units; all three stop together.
  log "systemctl stop ${present[*]}"
  systemctl stop "${present[@]}" || warn "systemctl stop ${present[*]} failed; stopping what is left by pid"
  # Disabled while the unit files are still there to say what to undo.
  systemctl disable "${present[@]}" >/dev/null 2>&1 || systemctl disable "${present[@]}" \
    || warn "systemctl disable ${present[*]} failed; removing its links by hand"
  for u in "${UNITS[@]}"; do
    if [ -e "$UNIT_DIR/$u" ]; then
      rm -f "$UNIT_DIR/$u"
      log "removed $UNIT_DIR/$u"
    fi
    # Links a failed or earlier partial disable left.
    find "$UNIT_LINK_DIR" -maxdepth 2 -path "*.wants/$u" -type l -delete 2>/dev/null || true
  done
  systemctl daemon-reload
  systemctl reset-failed "${present[@]}" >/dev/null 2>&1 || true
}

# The pids of daemon $1 that are running: those its pid files name, and any
# process running the installed binary (in this mount namespace, so a
# container's processes are never taken for it).
daemon_pids() {
  local name=$1 f pid exe self pids=()
  for f in ${PIDFILES[$name]}; do
    [ -f "$RUN_DIR/$f" ] || continue
    pid=$(cat "$RUN_DIR/$f" 2>/dev/null) || continue
    if pid_alive "$pid" "$name"; then pids+=("$pid"); fi
  done
  self=$(readlink /proc/$$/ns/mnt)
  while IFS= read -r f; do
    exe=$(readlink "$f" 2>/dev/null) || continue
    [ "${exe% (deleted)}" = "$BIN_DIR/$name" ] || continue
    pid=${f#/proc/}; pid=${pid%/exe}
    [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$self" ] || continue
    proc_running "$pid" && pids+=("$pid")
  done < <(find /proc/[0-9]*/exe -maxdepth 0 -lname "$BIN_DIR/$name*" 2>/dev/null)
  [ "${#pids[@]}" -eq 0 ] || printf '%s\n' "${pids[@]}" | sort -un
}

stop_processes() {
  local name pid f any=0
  for name in "${DAEMONS[@]}"; do
    for pid in $(daemon_pids "$name"); do
      any=1
      log "$name: stopping (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_pid_exit "$pid" "$STOP_TIMEOUT"; then
        warn "$name did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 5 || die "$name (pid $pid) does not exit even on SIGKILL"
      fi
      log "$name: stopped"
    done
    for f in ${PIDFILES[$name]}; do rm -f "$RUN_DIR/$f"; done
  done
  if [ "$any" = 1 ]; then changed; else log "sysbox-mgr and sysbox-fs are not running"; fi
}

stop_daemons() {
  if systemd_is_init; then stop_units; fi
  # Also where systemd runs them: a daemon started by hand, or one a unit
  # stop left behind.
  stop_processes
}

# --- mounts ---------------------------------------------------------------

# Mount points at or under $1, deepest first, from the mount table.
mounts_under() {
  local dir=$1 mp
  awk '{ print $5 }' "$MOUNTINFO" | while IFS= read -r mp; do
    # Octal escapes (\040 for a space) as the kernel writes them.
    mp=$(printf '%b' "$mp")
    case $mp in "$dir" | "$dir"/*) printf '%s\n' "$mp" ;; esac
  done | awk '{ print length($0) "\t" $0 }' | sort -rn -k1,1 | cut -f2-
}

# unmount_under DIR: unmount everything mounted at or under DIR.
unmount_under() {
  local mp
  while IFS= read -r mp; do
    [ -n "$mp" ] || continue
    if umount "$mp" 2>/dev/null || umount -l "$mp"; then
      log "unmounted $mp"
      changed
    else
      warn "could not unmount $mp"
    fi
  done < <(mounts_under "$1")
}

# sysbox-fs's keepers hold each container's FUSE connection and seccomp
# notify fds across its restarts ("<tag> <mount> <state>" and
# "<tag> seccomp:<id> <state>"); with the daemon gone they only hold memory.
stop_keepers() {
  local f argv0 pid
  while IFS= read -r f; do
    argv0=$(tr '\0' '\n' 2>/dev/null <"$f" | head -n 1) || continue
    [[ $argv0 == "$KEEPER_TAG $FS_DIR/"* || $argv0 == "$KEEPER_TAG seccomp:"* ]] || continue
    pid=${f#/proc/}; pid=${pid%/cmdline}
    log "stopping sysbox-fs keeper $pid (${argv0#"$KEEPER_TAG "})"
    kill -KILL "$pid" 2>/dev/null || true
    changed
  done < <(grep -lsaz -e "^$KEEPER_TAG $FS_DIR/" -e "^$KEEPER_TAG seccomp:" /proc/[0-9]*/cmdline)
}

# What sysbox-fs and sysbox-runc leave mounted: each container's FUSE mount
# and the self-binds sysbox-runc makes of /var/lib/sysboxfs (shared) and of
# its staging dir under /run/sysbox (private), once per boot.
cleanup_mounts() {
  local before=$CHANGES
  unmount_under "$FS_DIR"
  unmount_under "$RUN_DIR"
  stop_keepers
  # Each container's (now empty) mount point; rmdir never removes content.
  if [ -d "$FS_DIR" ]; then find "$FS_DIR" -mindepth 1 -maxdepth 1 -type d -empty -delete 2>/dev/null || true; fi
  [ "$CHANGES" != "$before" ] || log "nothing mounted under $FS_DIR or $RUN_DIR"
}

# --- files ----------------------------------------------------------------

remove_binaries() {
  local b f any=0
  for b in "${BINARIES[@]}"; do
    # .NAME.new: a copy an interrupted install left.
    for f in "$BIN_DIR/$b" "$BIN_DIR/.$b.new"; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      rm -f "$f"
      log "removed $f"
      any=1
    done
  done
  if [ "$any" = 1 ]; then changed; else log "no sysbox binaries in $BIN_DIR"; fi
}

log_files() {
  local f
  for f in "$LOG_DIR"/sysbox-mgr*.log* "$LOG_DIR"/sysbox-fs*.log*; do
    [ -e "$f" ] && printf '%s\n' "$f"
  done
  return 0
}

# remove_user_lines FILE: drop the sysbox user's lines, keeping the file's
# owner and mode (written next to it, then renamed over it).
remove_user_lines() {
  local f=$1 tmp
  grep -q "^$SYSBOX_USER:" "$f" 2>/dev/null || return 0
  tmp=$(mktemp "$f.XXXXXX")
  grep -v "^$SYSBOX_USER:" "$f" >"$tmp" || true
  chmod --reference="$f" "$tmp"
  chown --reference="$f" "$tmp"
  mv -f "$tmp" "$f"
  log "removed $SYSBOX_USER's lines from $f"
  changed
}

purge() {
  local d f
  unmount_under "$DATA_DIR"
  unmount_under "$FS_DIR"
  unmount_under "$RUN_DIR"
  for d in "$DATA_DIR" "$FS_DIR" "$RUN_DIR"; do
    [ -e "$d" ] || continue
    # --one-file-system: never into something still mounted below it.
    rm -rf --one-file-system "$d" || warn "could not remove all of $d"
    log "removed $d"
    changed
  done
  while IFS= read -r f; do
    rm -f "$f"
    log "removed $f"
    changed
  done < <(log_files)
  for f in "${SUBID_FILES[@]}"; do remove_user_lines "$f"; done
  if getent passwd "$SYSBOX_USER" >/dev/null; then
    userdel "$SYSBOX_USER" || die "userdel $SYSBOX_USER failed"
    log "removed user $SYSBOX_USER"
    changed
  fi
  if getent group "$SYSBOX_USER" >/dev/null; then
    if groupdel "$SYSBOX_USER"; then log "removed group $SYSBOX_USER"; changed; else warn "groupdel $SYSBOX_USER failed; the group is kept"; fi
  fi
}

# What a run without --purge keeps, for the last lines.
kept_state() {
  local d kept=()
  for d in "$DATA_DIR" "$FS_DIR"; do [ -e "$d" ] && kept+=("$d"); done
  [ -z "$(log_files)" ] || kept+=("$LOG_DIR/sysbox-*.log")
  getent passwd "$SYSBOX_USER" >/dev/null && kept+=("user $SYSBOX_USER and its /etc/subuid, /etc/subgid lines")
  [ "${#kept[@]}" -eq 0 ] || echo "Kept (--purge removes them): $(printf '%s, ' "${kept[@]}" | sed 's/, $//')."
}

main() {
  REMOVE_CONTAINERS=0
  PURGE=0
  while [ $# -gt 0 ]; do
    case $1 in
      --remove-containers) REMOVE_CONTAINERS=1 ;;
      --purge) PURGE=1 ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; exit 2 ;;
    esac
    shift
  done
  require_root "$@"
  [ "$PURGE" = 0 ] || STEP_TOTAL=6
  local t0
  t0=$(now_s)
  stage "system containers"
  check_containers
  stage "Docker runtime $RUNTIME"
  unregister_runtime
  recheck_containers
  stage "daemons"
  stop_daemons
  stage "mounts under $FS_DIR and $RUN_DIR"
  cleanup_mounts
  stage "binaries in $BIN_DIR"
  remove_binaries
  if [ "$PURGE" = 1 ]; then
    stage "state, logs and the $SYSBOX_USER user (--purge)"
    purge
  fi
  log "done in $(elapsed_since "$t0")s"
  echo
  if [ "$CHANGES" = 0 ]; then
    echo "Nothing to remove: sysbox-ts is not installed."
  else
    echo "sysbox-ts is uninstalled: no $RUNTIME runtime in Docker, no sysbox daemons, no binaries in $BIN_DIR."
  fi
  [ "$PURGE" = 1 ] || kept_state
  echo "Reinstall: sudo bash scripts/install.sh"
}

# Sourced (by tests, to run it against other paths), it defines and does nothing.
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
