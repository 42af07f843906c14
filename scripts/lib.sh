# shellcheck shell=bash
# Shared helpers for the project's bash scripts: logging, root check, apt
# installs (one `apt-get update` per run), Bun bootstrap, project root.
# Source it:  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The name shown in log lines; callers may set LOG_NAME before sourcing.
LOG_NAME=${LOG_NAME:-$(basename "${0%.sh}")}

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "$LOG_NAME" "$*" >&2; }
warn() { log "warning: $*"; }
die() { log "error: $*"; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0 $*)"
}

# The repository root: the directory above scripts/, found from this file's
# own location so it works from any working directory and without git.
project_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
}

# Seconds since the epoch, with milliseconds, for step timings.
now_s() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Run `apt-get update` at most once per run. The flag is exported so scripts
# started from this one (test.sh -> dockerd.sh -> ...) share it.
apt_update_once() {
  [ "${SYSBOX_APT_UPDATED:-}" = 1 ] && return 0
  log "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
  export SYSBOX_APT_UPDATED=1
}

# apt_install_missing PKG...: install the packages that are not installed yet.
apt_install_missing() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  apt_update_once
  log "apt-get install -y ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# ensure_bun: make `bun` available, installing Bun 1.4 from npm if needed
# (and node/npm from apt first on a machine that has neither).
ensure_bun() {
  if ! command -v bun >/dev/null; then
    if ! command -v npm >/dev/null; then apt_install_missing nodejs npm; fi
    log "npm install -g bun@1.4"
    npm install -g bun@1.4 >&2 || die "npm install -g bun@1.4 failed"
    # npm's global bin directory may not be on PATH yet.
    PATH="$(npm prefix -g)/bin:$PATH"
    export PATH
    command -v bun >/dev/null || die "bun was installed but is not on PATH"
  fi
  local v
  v=$(bun --version 2>/dev/null) || die "bun is on PATH but does not run"
  case "$v" in
    1.4.*) ;;
    *) warn "bun $v found; this project is built and tested with Bun 1.4" ;;
  esac
}

# pid_alive PID [NAME]: the process runs (and, if NAME is given, its
# executable or its comm is NAME, which guards against a reused pid).
pid_alive() {
  local pid=$1 name=${2:-} exe comm
  [ -n "$pid" ] && proc_running "$pid" || return 1
  [ -z "$name" ] && return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=
  exe=${exe% (deleted)}
  [ "${exe##*/}" = "$name" ] && return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  # The kernel keeps 15 characters of comm.
  [ "$comm" = "${name:0:15}" ]
}

# host_dockerd_pid [PIDFILE]: the pid of this host's dockerd: the one its pid
# file names (default /var/run/docker.pid), else one named dockerd. Either
# must be in this pid namespace: a dockerd inside a container (sysbox-demo
# runs one) is in another and is never taken for the host's.
host_dockerd_pid() {
  local pidfile=${1:-/var/run/docker.pid} pid self
  self=$(readlink /proc/$$/ns/pid)
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null) || pid=
    if pid_alive "$pid" dockerd && [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$self" ]; then
      echo "$pid"
      return 0
    fi
  fi
  for pid in $(pgrep -x dockerd || true); do
    if [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$self" ]; then echo "$pid"; return 0; fi
  done
  return 1
}

# proc_running PID: the process exists and is not a zombie waiting to be reaped.
proc_running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# wait_pid_exit PID SECONDS: wait for PID to exit; false on timeout.
wait_pid_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while proc_running "$pid"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
