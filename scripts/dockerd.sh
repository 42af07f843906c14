#!/usr/bin/env bash
# Starts, stops or reports on the Docker daemon the tests use, with sysbox-runc
# registered as a runtime in /etc/docker/daemon.json.
#
#   scripts/dockerd.sh start    install docker.io if missing, register the
#                               runtime, start dockerd (or SIGHUP a running one)
#   scripts/dockerd.sh stop     stop the dockerd this script started, if any
#   scripts/dockerd.sh reload   SIGHUP the host's dockerd (found through its
#                               pid file), so it re-reads daemon.json
#   scripts/dockerd.sh status   exit 0 if `docker info` works, 3 if not
#
# Environment: SYSBOX_RUNC_PATH (default /usr/bin/sysbox-runc).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(project_root)
DAEMON_JSON=/etc/docker/daemon.json
RUNC_PATH=${SYSBOX_RUNC_PATH:-/usr/bin/sysbox-runc}
PIDFILE=/run/sysbox-ts-dockerd.pid
LOGFILE=/var/log/dockerd.log
START_TIMEOUT=60
STOP_TIMEOUT=30

systemd_is_init() { [ -d /run/systemd/system ]; }
docker_ok() { docker info >/dev/null 2>&1; }

# The pid of the dockerd this script started, if it is still running.
our_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  pid_alive "$pid" dockerd && echo "$pid"
}

# The pid of the host's running dockerd, whoever started it; never the dockerd
# of a system container (sysbox-demo runs one).
any_dockerd_pid() { host_dockerd_pid /var/run/docker.pid; }

# Flags for a dockerd without a bridge or firewall rules, minus any that
# daemon.json sets already (dockerd refuses a flag that daemon.json repeats).
dockerd_flags() {
  local keys flag key
  keys=$(bun "$ROOT/scripts/daemon-json.ts" keys --file "$DAEMON_JSON")
  for flag in --iptables=false --ip6tables=false --bridge=none; do
    key=${flag#--}; key=${key%%=*}
    if grep -qx "$key" <<<"$keys"; then
      warn "$DAEMON_JSON sets \"$key\"; not passing $flag"
    else
      printf '%s\n' "$flag"
    fi
  done
}

start() {
  require_root
  command -v dockerd >/dev/null || apt_install_missing docker.io
  command -v docker >/dev/null || apt_install_missing docker.io
  ensure_bun
  bun "$ROOT/scripts/daemon-json.ts" add --path "$RUNC_PATH" --file "$DAEMON_JSON" >&2 \
    || die "could not register sysbox-runc in $DAEMON_JSON"

  local pid spawned=
  if pid=$(any_dockerd_pid); then
    our_pid >/dev/null || rm -f "$PIDFILE"
    log "dockerd is running (pid $pid); sending SIGHUP to reload its runtimes"
    kill -HUP "$pid"
  elif systemd_is_init; then
    log "systemctl start docker"
    systemctl start docker
  else
    local flags
    mapfile -t flags < <(dockerd_flags)
    log "starting dockerd ${flags[*]} (log: $LOGFILE)"
    mkdir -p "$(dirname "$LOGFILE")"
    printf '\n=== %s dockerd.sh start ===\n' "$(date -Is)" >>"$LOGFILE"
    # setsid: the daemon outlives this script and ignores its terminal's ^C.
    setsid dockerd "${flags[@]}" >>"$LOGFILE" 2>&1 </dev/null &
    spawned=$!
    echo "$spawned" >"$PIDFILE"
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until docker_ok; do
    if [ -n "$spawned" ] && ! proc_running "$spawned"; then
      tail -n 30 "$LOGFILE" >&2 || true
      rm -f "$PIDFILE"
      die "dockerd exited during start-up (log above, full log: $LOGFILE)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOGFILE" >&2 || true
      die "docker info did not succeed within ${START_TIMEOUT}s (log above: $LOGFILE)"
    fi
    sleep 0.3
  done
  # dockerd's own pid file names the daemon itself, whatever setsid did.
  if [ -n "$spawned" ] && pid=$(any_dockerd_pid); then echo "$pid" >"$PIDFILE"; fi
  if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"sysbox-runc"'; then
    log "dockerd is ready; runtime sysbox-runc is registered"
  else
    # dockerd reloads on SIGHUP asynchronously; give it a moment.
    sleep 1
    docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"sysbox-runc"' \
      || die "dockerd is up but does not list the sysbox-runc runtime (check $DAEMON_JSON)"
    log "dockerd is ready; runtime sysbox-runc is registered"
  fi
}

stop() {
  require_root
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    log "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  # dockerd started without a system containerd runs its own as a child;
  # note it now, since it is reparented once dockerd exits.
  local children
  children=$(pgrep -P "$pid" -x containerd || true)
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  if ! wait_pid_exit "$pid" "$STOP_TIMEOUT"; then
    warn "dockerd did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 5 || true
  fi
  local c
  for c in $children; do
    pid_alive "$c" containerd || continue
    log "stopping its containerd (pid $c)"
    kill -TERM "$c" 2>/dev/null || true
    wait_pid_exit "$c" 10 || kill -KILL "$c" 2>/dev/null || true
  done
  rm -f "$PIDFILE"
  log "dockerd stopped"
}

reload() {
  require_root
  local pid
  pid=$(any_dockerd_pid) || die "no dockerd of this host is running (none named by /var/run/docker.pid or found by name in this pid namespace)"
  log "dockerd (pid $pid): SIGHUP, so it re-reads $DAEMON_JSON"
  kill -HUP "$pid"
}

status() {
  local pid
  if pid=$(our_pid); then
    echo "dockerd: running (pid $pid, started by scripts/dockerd.sh)"
  elif pid=$(any_dockerd_pid); then
    echo "dockerd: running (pid $pid, not started by scripts/dockerd.sh)"
  else
    echo "dockerd: not running"
    return 3
  fi
  if docker_ok; then
    echo "docker info: ok; runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"
  else
    echo "docker info: failing"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  reload) reload ;;
  status) status ;;
  *) echo "usage: $0 start|stop|reload|status" >&2; exit 2 ;;
esac
