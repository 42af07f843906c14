#!/usr/bin/env bash
# Starts or stops the sysbox daemons (sysbox-mgr, sysbox-fs) in the background,
# for the tests and the installer on machines without systemd.
#
#   scripts/daemons.sh start    start each installed daemon that is not running,
#                               then wait for its socket in /run/sysbox
#   scripts/daemons.sh stop     stop the daemons this script started
#   scripts/daemons.sh status
#
# Environment: SYSBOX_BIN_DIR (default /usr/bin), SYSBOX_LOG_DIR (default
# /var/log). A daemon whose binary is not installed is skipped with a note.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN_DIR=${SYSBOX_BIN_DIR:-/usr/bin}
LOG_DIR=${SYSBOX_LOG_DIR:-/var/log}
RUN_DIR=/run/sysbox
START_TIMEOUT=30
STOP_TIMEOUT=15

DAEMONS=(sysbox-mgr sysbox-fs)
declare -A SOCKET=(
  [sysbox-mgr]=$RUN_DIR/sysmgr.sock
  [sysbox-fs]=$RUN_DIR/sysfs.sock
)

# The pid file each daemon keeps itself (it refuses to start while that
# process runs), as opposed to the one this script writes.
declare -A OWN_PIDFILE=(
  [sysbox-mgr]=$RUN_DIR/sysmgr.pid
  [sysbox-fs]=$RUN_DIR/sysfs.pid
)

pidfile() { echo "$RUN_DIR/$1.pid"; }

# The pid of daemon $1 if it runs, whoever started it (systemd, a user).
own_pid() {
  local pid
  [ -f "${OWN_PIDFILE[$1]}" ] || return 1
  pid=$(cat "${OWN_PIDFILE[$1]}")
  pid_alive "$pid" "$1" && echo "$pid"
}

# The pid of daemon $1 if this script started it and it still runs.
running_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  pid_alive "$pid" "$1" && echo "$pid"
}

show_logs() {
  local name=$1 f
  for f in "$LOG_DIR/$name.log" "$LOG_DIR/$name.out.log"; do
    [ -s "$f" ] || continue
    echo "--- tail of $f" >&2
    tail -n 20 "$f" >&2
  done
}

start_one() {
  local name=$1 bin=$BIN_DIR/$1 sock=${SOCKET[$1]} pid
  if [ ! -x "$bin" ]; then
    log "$name: $bin not installed; skipped"
    return 0
  fi
  if pid=$(running_pid "$name"); then
    log "$name: already running (pid $pid)"
    return 0
  fi
  if pid=$(own_pid "$name"); then
    log "$name: already running (pid $pid, not started by this script); left alone"
    return 0
  fi
  # A socket left by a daemon that died would look ready.
  rm -f "$sock"
  # The daemon writes its own log with --log; stdout and stderr (a crash
  # before logging is set up) go to a second file.
  setsid "$bin" --log "$LOG_DIR/$name.log" >>"$LOG_DIR/$name.out.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$(pidfile "$name")"
  log "$name: started (pid $pid); waiting for $sock"
  local deadline=$((SECONDS + START_TIMEOUT))
  until [ -S "$sock" ]; do
    if ! proc_running "$pid"; then
      show_logs "$name"
      rm -f "$(pidfile "$name")"
      die "$name exited during start-up"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs "$name"
      die "$name: no socket $sock after ${START_TIMEOUT}s"
    fi
    sleep 0.1
  done
  log "$name: ready"
}

stop_one() {
  local name=$1 pid
  if ! pid=$(running_pid "$name"); then
    rm -f "$(pidfile "$name")"
    return 0
  fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_exit "$pid" "$STOP_TIMEOUT"; then
    warn "$name did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 5 || true
  fi
  rm -f "$(pidfile "$name")"
}

case "${1:-}" in
  start)
    require_root
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    for d in "${DAEMONS[@]}"; do start_one "$d"; done
    ;;
  stop)
    require_root
    # Reverse order of start.
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_one "${DAEMONS[i]}"; done
    ;;
  status)
    rc=0
    for d in "${DAEMONS[@]}"; do
      if pid=$(running_pid "$d"); then
        echo "$d: running (pid $pid)$([ -S "${SOCKET[$d]}" ] && echo ", socket ${SOCKET[$d]}")"
      elif pid=$(own_pid "$d"); then
        echo "$d: running (pid $pid, not started by this script)"
      else
        echo "$d: not running"
        rc=3
      fi
    done
    exit "$rc"
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
