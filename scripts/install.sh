#!/usr/bin/env bash
# Installs sysbox-ts on this machine and starts a system container; the
# README's first command. As root on Debian or Ubuntu, from a clone:
#
#   scripts/install.sh [--check-only] [--no-demo]
#
#   --check-only   run the host checks, print what they found, change nothing
#   --no-demo      install and start everything, but build no image and start
#                  no container
#
# Steps: host checks (if one fails, the reason and the fix are printed and
# nothing is installed); Bun (from npm, with nodejs/npm from apt if missing);
# npm ci; bun run build (these three are skipped when build/ already holds
# binaries newer than every source file, e.g. copied from a machine that
# built them: then nothing is downloaded or built); the three binaries to /usr/bin; the daemons (systemd
# units when systemd is PID 1, else scripts/daemons.sh; sysbox-mgr creates
# the sysbox user and its subordinate id range when it starts); Docker
# (docker.io from apt if missing) with the runtime merged into
# /etc/docker/daemon.json; the local image sysbox-test/syscont:bookworm
# (scripts/images.sh); the container sysbox-demo.
#
# Re-running is harmless: each step keeps what is in place. Binaries that
# differ from the installed ones replace them (copy, then rename) and the
# daemons are restarted; a running sysbox-demo is reused.
#
# Environment, for simulating a host in tests: SYSBOX_FUSE_DEV (default
# /dev/fuse), SYSBOX_PROC_DIR (/proc), SYSBOX_CGROUP_DIR (/sys/fs/cgroup),
# SYSBOX_KERNEL_RELEASE (uname -r).
set -euo pipefail
LOG_NAME=install
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(project_root)
FUSE_DEV=${SYSBOX_FUSE_DEV:-/dev/fuse}
PROC_DIR=${SYSBOX_PROC_DIR:-/proc}
CGROUP_DIR=${SYSBOX_CGROUP_DIR:-/sys/fs/cgroup}
KERNEL_RELEASE=${SYSBOX_KERNEL_RELEASE:-$(uname -r)}

BINARIES=(sysbox-runc sysbox-mgr sysbox-fs)
BIN_DIR=/usr/bin
UNIT_DIR=/lib/systemd/system
SYSBOX_USER=sysbox
DEMO_NAME=sysbox-demo
DEMO_IMAGE=sysbox-test/syscont:bookworm
# How long the demo must stay up to count as started.
DEMO_SETTLE_S=5

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

CHECK_ONLY=0
DEMO=1
while [ $# -gt 0 ]; do
  case $1 in
    --check-only) CHECK_ONLY=1 ;;
    --no-demo) DEMO=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

# --- host checks ----------------------------------------------------------
# Each check probes the real thing where it can; a failure records its
# reason and its fix, and every check runs so the user sees all of them.

FAILS=()
fail() { FAILS+=("$1"$'\n'"  fix: $2"); }
ok() { log "ok: $*"; }

check_root() {
  if [ "$(id -u)" -eq 0 ]; then ok "running as root"; return; fi
  fail "not running as root (uid $(id -u)): installing binaries, units and the Docker runtime needs root" \
    "run it as root: sudo bash scripts/install.sh"
}

check_arch() {
  local m
  m=$(uname -m)
  case $m in
    x86_64 | aarch64) ok "architecture $m" ;;
    *) fail "unsupported architecture $m: the namespace stage has system-call code for x86_64 and aarch64 only" \
      "use an x86_64 or arm64 (aarch64) machine" ;;
  esac
}

# kernel_at_least MAJOR MINOR: KERNEL_RELEASE is that version or newer.
kernel_at_least() {
  local major minor
  IFS=. read -r major minor _ <<<"${KERNEL_RELEASE%%-*}"
  major=${major//[!0-9]/} minor=${minor//[!0-9]/}
  [ -n "$major" ] && [ -n "$minor" ] || return 1
  [ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}

# What the kernel does with ID-mapped mounts, probed for real where it can
# be (scripts/idmap-probe.ts: mount_setattr on a clone, then an overlay on
# it) and judged by the version otherwise. SYSBOX_IDMAP_PROBE simulates the
# probe's output ("bind ok,overlay-lower EINVAL mount").
IDMAP_PROBED=0
idmap_probe() {
  if [ -n "${SYSBOX_IDMAP_PROBE:-}" ]; then printf '%s\n' "${SYSBOX_IDMAP_PROBE//,/$'\n'}"; return 0; fi
  # A simulated kernel release is not the running kernel: nothing to probe.
  [ -z "${SYSBOX_KERNEL_RELEASE:-}" ] && [ "$(id -u)" -eq 0 ] && command -v bun >/dev/null || return 1
  bun "$ROOT/scripts/idmap-probe.ts" 2>/dev/null
}

probe_feature() { awk -v f="$1" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$2"; }

IDMAP_FIX="boot a kernel 5.19 or newer, then reboot (Debian 12 ships 6.1; Debian 11: apt-get install -t bullseye-backports linux-image-amd64; Ubuntu 22.04: apt-get install linux-generic-hwe-22.04)"

check_kernel() {
  if ! kernel_at_least 5 12; then
    fail "kernel $KERNEL_RELEASE is older than 5.12: it has no ID-mapped mounts (mount_setattr), which system containers are built on" \
      "$IDMAP_FIX"
    return
  fi
  local out bind lower
  if ! out=$(idmap_probe) || [ -z "$out" ]; then
    if kernel_at_least 5 19; then
      ok "kernel $KERNEL_RELEASE (ID-mapped mounts not probed yet: that needs root and Bun; judged by the version)"
    else
      fail "kernel $KERNEL_RELEASE is older than 5.19: overlayfs there cannot take ID-mapped lower layers, and a system container's root filesystem is Docker's image layers, each ID-mapped, under an overlay" \
        "$IDMAP_FIX"
    fi
    return
  fi
  IDMAP_PROBED=1
  bind=$(probe_feature bind "$out") lower=$(probe_feature overlay-lower "$out")
  if [ "$bind" != ok ]; then
    fail "kernel $KERNEL_RELEASE cannot ID-map a mount of /var/lib's filesystem (mount_setattr MOUNT_ATTR_IDMAP: ${bind:-no answer}); system containers' files are shifted into their id range that way" \
      "$IDMAP_FIX; and keep /var/lib/docker on ext4, xfs or btrfs"
  elif [ "$lower" != ok ]; then
    fail "kernel $KERNEL_RELEASE cannot use an ID-mapped mount as an overlayfs lower layer (mount overlay: ${lower:-no answer}); a system container's root filesystem is Docker's image layers, each ID-mapped, under an overlay (needs 5.19)" \
      "$IDMAP_FIX"
  else
    ok "kernel $KERNEL_RELEASE: ID-mapped mounts and ID-mapped overlay lower layers work (probed; ID-mapped tmpfs: $(probe_feature tmpfs "$out"))"
  fi
}

check_userns() {
  local max_file=$PROC_DIR/sys/user/max_user_namespaces clone_file=$PROC_DIR/sys/kernel/unprivileged_userns_clone v
  if [ ! -r "$max_file" ]; then
    fail "user namespaces are not available: $max_file does not exist (kernel built without CONFIG_USER_NS)" \
      "boot a kernel built with CONFIG_USER_NS=y (every stock Debian and Ubuntu kernel is)"
    return
  fi
  v=$(cat "$max_file")
  if ! [ "$v" -gt 0 ] 2>/dev/null; then
    fail "user namespaces are disabled: user.max_user_namespaces is $v" \
      "sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 >/etc/sysctl.d/90-sysbox.conf"
    return
  fi
  if [ -r "$clone_file" ] && [ "$(cat "$clone_file")" != 1 ]; then
    fail "user namespaces are restricted: kernel.unprivileged_userns_clone is $(cat "$clone_file"), and processes inside system containers create their own" \
      "sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 >/etc/sysctl.d/90-sysbox.conf"
    return
  fi
  # The sysctls can say yes while a seccomp profile or LSM still says no.
  local err
  if [ "$PROC_DIR" = /proc ] && command -v unshare >/dev/null && [ "$(id -u)" -eq 0 ] \
    && ! err=$(unshare --user --map-root-user true 2>&1); then
    fail "creating a user namespace failed: ${err:-unshare --user exited non-zero}" \
      "allow user namespaces for root (if this is itself a container, run it with seccomp and AppArmor unconfined)"
    return
  fi
  ok "user namespaces (max_user_namespaces=$v)"
}

check_fuse() {
  if [ ! -e "$FUSE_DEV" ]; then
    fail "$FUSE_DEV is missing: sysbox-fs serves the container's /proc and /sys files through FUSE" \
      "modprobe fuse (and add fuse to /etc/modules-load.d/fuse.conf so it loads at boot); in a container, pass --device /dev/fuse"
    return
  fi
  if [ ! -c "$FUSE_DEV" ]; then
    fail "$FUSE_DEV is not a character device" \
      "remove it and load the fuse module: rm $FUSE_DEV && modprobe fuse"
    return
  fi
  # Opening /dev/fuse mounts nothing; it fails where a device cgroup denies it.
  local err
  if ! err=$( { exec 3<>"$FUSE_DEV"; } 2>&1); then
    fail "$FUSE_DEV cannot be opened: ${err##*: }" \
      "allow access to $FUSE_DEV (in a container: --device /dev/fuse, or a device cgroup rule c 10:229 rwm)"
    return
  fi
  ok "$FUSE_DEV"
}

# Prints the layout name (v2, hybrid, v1) of the cgroup tree at $1.
cgroup_layout() {
  local dir=$1 c
  if [ -f "$dir/cgroup.controllers" ]; then echo v2; return 0; fi
  for c in cpu cpuacct cpuset memory pids devices freezer blkio; do
    if [ -f "$dir/$c/tasks" ] || [ -f "$dir/$c/cgroup.procs" ]; then
      if [ -f "$dir/unified/cgroup.controllers" ]; then echo hybrid; else echo v1; fi
      return 0
    fi
  done
  return 1
}

check_cgroups() {
  local layout
  if ! layout=$(cgroup_layout "$CGROUP_DIR"); then
    fail "no cgroup hierarchy found at $CGROUP_DIR (neither cgroup v2's cgroup.controllers nor v1 controller directories)" \
      "mount cgroup v2: mount -t cgroup2 cgroup2 $CGROUP_DIR (systemd does this at boot; on a v1 host, mount each controller under $CGROUP_DIR/<name>)"
    return
  fi
  if [ "$layout" = v2 ]; then
    ok "cgroup v2 at $CGROUP_DIR"
  else
    local c missing=()
    for c in cpu memory pids devices freezer; do [ -d "$CGROUP_DIR/$c" ] || missing+=("$c"); done
    ok "cgroup $layout at $CGROUP_DIR"
    [ "${#missing[@]}" -eq 0 ] || warn "cgroup v1 controllers not mounted: ${missing[*]}; resource limits that need them will fail"
  fi
}

# Whatever is missing must be installable, or the install would stop halfway.
check_tools() {
  local need=()
  command -v bun >/dev/null || command -v npm >/dev/null || need+=("nodejs and npm (for Bun)")
  command -v dockerd >/dev/null && command -v docker >/dev/null || need+=(docker.io)
  if [ "$DEMO" = 1 ] && ! command -v debootstrap >/dev/null && ! demo_image_present; then
    need+=("debootstrap (for the local image)")
  fi
  if [ "${#need[@]}" -gt 0 ] && ! command -v apt-get >/dev/null; then
    local IFS=,
    fail "missing ${need[*]}, and there is no apt-get to install them" \
      "install them with this system's package manager, or run on Debian or Ubuntu"
    return
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    local IFS=,
    ok "apt-get will install: ${need[*]}"
  else
    ok "tools present"
  fi
}

demo_image_present() {
  command -v docker >/dev/null && docker image inspect "$DEMO_IMAGE" >/dev/null 2>&1
}

# The host checks ran before Bun was there to probe the kernel: probe it
# now, before anything but Bun is installed.
recheck_kernel() {
  [ "$IDMAP_PROBED" = 0 ] && [ -z "${SYSBOX_KERNEL_RELEASE:-}" ] || return 0
  check_kernel
  [ "${#FAILS[@]}" -eq 0 ] && return 0
  printf 'host check failed: %s\n' "${FAILS[@]}" >&2
  printf 'install.sh: the kernel check failed; nothing but Bun was installed. Fix the above and run it again.\n' >&2
  exit 1
}

host_checks() {
  log "host checks"
  check_root
  check_arch
  check_kernel
  check_userns
  check_fuse
  check_cgroups
  check_tools
  if [ "${#FAILS[@]}" -gt 0 ]; then
    local f
    for f in "${FAILS[@]}"; do printf 'host check failed: %s\n' "$f" >&2; done
    printf 'install.sh: %d host check(s) failed; nothing was installed. Fix the above and run it again.\n' "${#FAILS[@]}" >&2
    exit 1
  fi
  log "host checks passed"
}

# --- install steps --------------------------------------------------------

STEP_N=0
STEP_TOTAL=8
[ "$DEMO" = 1 ] || STEP_TOTAL=6
PREBUILT=0
stage() { STEP_N=$((STEP_N + 1)); log "[$STEP_N/$STEP_TOTAL] $*"; }

systemd_is_init() { [ -d /run/systemd/system ]; }

install_deps() {
  command -v npm >/dev/null || apt_install_missing nodejs npm
  # npm records what it installed here; newer than both manifests = current.
  local stamp=node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt package.json ]; then
    log "node_modules is up to date"
    return
  fi
  npm ci --no-audit --no-fund
}

# True when build/ holds all three binaries and none is older than a source
# file: a copy of a tree built elsewhere (a machine without network or npm
# installs from it) or an earlier run's build. They are installed as they are.
prebuilt_current() {
  local name newer
  for name in "${BINARIES[@]}"; do
    [ -x "$ROOT/build/$name" ] || return 1
    newer=$(find "$ROOT/cmd" "$ROOT/internal" "$ROOT/package.json" "$ROOT/package-lock.json" \
      -newer "$ROOT/build/$name" -type f -print -quit 2>/dev/null) || return 1
    [ -z "$newer" ] || return 1
  done
}

# Set when a daemon's binary was replaced: the running one must be restarted.
DAEMONS_CHANGED=0
install_binaries() {
  local name src dst
  for name in "${BINARIES[@]}"; do
    src=$ROOT/build/$name dst=$BIN_DIR/$name
    [ -x "$src" ] || die "$src was not built"
    if cmp -s "$src" "$dst"; then
      log "$dst is up to date"
      continue
    fi
    # Copy, then rename: a running old binary is never written over (ETXTBSY).
    cp "$src" "$BIN_DIR/.$name.new"
    chmod 0755 "$BIN_DIR/.$name.new"
    mv -f "$BIN_DIR/.$name.new" "$dst"
    [ "$name" = sysbox-runc ] || DAEMONS_CHANGED=1
    log "installed $dst"
  done
}

# sysbox-mgr creates the sysbox user and adds its subordinate id range to
# /etc/subuid and /etc/subgid when it starts (it owns that policy); this
# reports what it found or made.
report_user() {
  local f line i
  # It does so as it starts, a moment after its unit is active.
  for i in $(seq 1 20); do
    getent passwd "$SYSBOX_USER" >/dev/null && grep -q "^$SYSBOX_USER:" /etc/subuid 2>/dev/null && break
    sleep 0.5
  done
  if getent passwd "$SYSBOX_USER" >/dev/null; then
    log "user $SYSBOX_USER: $(getent passwd "$SYSBOX_USER")"
  else
    warn "user $SYSBOX_USER does not exist; sysbox-mgr creates it when it starts (see its log)"
  fi
  for f in /etc/subuid /etc/subgid; do
    if line=$(grep "^$SYSBOX_USER:" "$f" 2>/dev/null); then
      log "$f: $(echo "$line" | paste -sd' ')"
    else
      warn "$f has no $SYSBOX_USER entry; sysbox-mgr adds one when it starts (see its log)"
    fi
  done
}

# The unit files, modeled on Sysbox's: sysbox.service binds the two daemons,
# so starting, stopping or restarting it does the same to both.
unit_text() {
  case $1 in
    sysbox.service)
      cat <<EOF
[Unit]
Description=sysbox-ts system container runtime
# Wants, not BindsTo: restarting one daemon must leave the other running
# (PartOf below still carries a stop or restart of this unit to both).
Wants=sysbox-mgr.service sysbox-fs.service
After=sysbox-mgr.service sysbox-fs.service
Before=docker.service containerd.service

[Service]
Type=exec
ExecStart=/bin/sh -c "$BIN_DIR/sysbox-runc --version && $BIN_DIR/sysbox-mgr --version && $BIN_DIR/sysbox-fs --version && exec sleep infinity"

[Install]
WantedBy=multi-user.target
EOF
      ;;
    sysbox-mgr.service)
      cat <<EOF
[Unit]
Description=sysbox-mgr (sysbox-ts manager daemon)
PartOf=sysbox.service
After=local-fs.target

[Service]
Type=simple
ExecStart=$BIN_DIR/sysbox-mgr
Restart=on-failure
TimeoutStopSec=30
OOMScoreAdjust=-500
LimitNOFILE=1048576

[Install]
WantedBy=sysbox.service
EOF
      ;;
    sysbox-fs.service)
      cat <<EOF
[Unit]
Description=sysbox-fs (sysbox-ts FUSE daemon)
PartOf=sysbox.service
After=sysbox-mgr.service

[Service]
Type=simple
ExecStart=$BIN_DIR/sysbox-fs
# Its keeper processes hold each container's FUSE connection across a restart.
KillMode=process
Restart=on-failure
TimeoutStopSec=30
OOMScoreAdjust=-500
LimitNOFILE=1048576

[Install]
WantedBy=sysbox.service
EOF
      ;;
  esac
}

UNITS=(sysbox-mgr.service sysbox-fs.service sysbox.service)

start_daemons_systemd() {
  local u changed=0
  for u in "${UNITS[@]}"; do
    if [ "$(cat "$UNIT_DIR/$u" 2>/dev/null)" = "$(unit_text "$u")" ]; then continue; fi
    unit_text "$u" >"$UNIT_DIR/.$u.new"
    mv -f "$UNIT_DIR/.$u.new" "$UNIT_DIR/$u"
    log "wrote $UNIT_DIR/$u"
    changed=1
  done
  [ "$changed" = 0 ] || systemctl daemon-reload
  systemctl enable "${UNITS[@]}" >/dev/null 2>&1 || systemctl enable "${UNITS[@]}"
  if [ "$changed" = 1 ] || [ "$DAEMONS_CHANGED" = 1 ]; then
    log "systemctl restart sysbox.service"
    systemctl restart sysbox.service
  else
    systemctl start sysbox.service
  fi
  for u in "${UNITS[@]}"; do
    systemctl is-active --quiet "$u" || {
      systemctl status --no-pager "$u" >&2 || true
      die "$u is not active (see: journalctl -u $u)"
    }
  done
  log "sysbox.service, sysbox-mgr.service and sysbox-fs.service are active"
}

start_daemons_background() {
  if [ "$DAEMONS_CHANGED" = 1 ] && bash "$ROOT/scripts/daemons.sh" status >/dev/null 2>&1; then
    log "daemon binaries changed; restarting the daemons"
    bash "$ROOT/scripts/daemons.sh" stop
  fi
  SYSBOX_BIN_DIR=$BIN_DIR bash "$ROOT/scripts/daemons.sh" start
}

start_daemons() {
  if systemd_is_init; then start_daemons_systemd; else start_daemons_background; fi
}

container_state() {
  docker inspect --format '{{.State.Status}}' "$DEMO_NAME" 2>/dev/null || true
}

# run_demo CMD...: start sysbox-demo with CMD (none: the image's /sbin/init)
# and make sure it stays up and answers docker exec. On failure, prints why
# on stdout, removes the container and returns 1.
run_demo() {
  local id deadline
  if ! id=$(docker run --runtime=sysbox-runc -d --name "$DEMO_NAME" "$DEMO_IMAGE" "$@" 2>&1); then
    echo "docker run failed: $id"
    docker rm -f "$DEMO_NAME" >/dev/null 2>&1 || true
    return 1
  fi
  deadline=$((SECONDS + DEMO_SETTLE_S))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(container_state)" = running ] || break
    sleep 0.5
  done
  if [ "$(container_state)" = running ] && docker exec "$DEMO_NAME" true >/dev/null 2>&1; then
    return 0
  fi
  echo "it did not stay up: $(docker inspect --format 'status {{.State.Status}}, exit code {{.State.ExitCode}} {{.State.Error}}' "$DEMO_NAME" 2>/dev/null)"
  docker logs --tail 10 "$DEMO_NAME" 2>&1 | sed 's/^/    /'
  docker rm -f "$DEMO_NAME" >/dev/null 2>&1 || true
  return 1
}

DEMO_NOTE=
start_demo() {
  local state why
  state=$(container_state)
  if [ "$state" = running ]; then
    local cmd
    cmd=$(docker inspect --format '{{json .Config.Cmd}}' "$DEMO_NAME")
    log "$DEMO_NAME is already running ($(docker inspect --format '{{.HostConfig.Runtime}}' "$DEMO_NAME"): $cmd); reusing it"
    case $cmd in
      '["sleep","infinity"]') DEMO_NOTE=" (running 'sleep infinity'; docker rm -f $DEMO_NAME and run this again to retry systemd as init)" ;;
      '["/sbin/init"]') DEMO_NOTE=" (systemd as init)" ;;
    esac
    return
  fi
  if [ -n "$state" ]; then
    log "removing the stopped $DEMO_NAME ($state)"
    docker rm -f "$DEMO_NAME" >/dev/null
  fi
  log "docker run --runtime=sysbox-runc -d --name $DEMO_NAME $DEMO_IMAGE"
  if why=$(run_demo); then
    DEMO_NOTE=" (systemd as init)"
    log "$DEMO_NAME is running$DEMO_NOTE"
    return
  fi
  printf '%s\n' "$why" >&2
  warn "$DEMO_NAME with systemd as init did not start; system-container features are still in progress. Falling back to 'sleep infinity' in the same image."
  log "docker run --runtime=sysbox-runc -d --name $DEMO_NAME $DEMO_IMAGE sleep infinity"
  if ! why=$(run_demo sleep infinity); then
    printf '%s\n' "$why" >&2
    die "$DEMO_NAME did not start even with 'sleep infinity' (daemon logs: /var/log/sysbox-*.log; runtime log: the container's log.json under /run/containerd)"
  fi
  DEMO_NOTE=" (running 'sleep infinity': booting systemd inside is not supported yet)"
  log "$DEMO_NAME is running$DEMO_NOTE"
}

# hint COMMAND [WHAT]: one line of the next things to try.
hint() {
  if [ -n "${2:-}" ]; then printf '  %-48s # %s\n' "$1" "$2"; else printf '  %s\n' "$1"; fi
}

next_steps() {
  local logs="/var/log/sysbox-mgr.log, /var/log/sysbox-fs.log"
  systemd_is_init && logs="journalctl -u sysbox-mgr -u sysbox-fs"
  echo
  echo "sysbox-ts is installed: $BIN_DIR/sysbox-runc, $BIN_DIR/sysbox-mgr, $BIN_DIR/sysbox-fs;"
  echo "the runtime \"sysbox-runc\" is registered in /etc/docker/daemon.json."
  [ "$DEMO" = 0 ] || echo "System container $DEMO_NAME is running$DEMO_NOTE."
  echo
  echo "Next things to try:"
  if [ "$DEMO" = 1 ]; then
    hint "docker exec -it $DEMO_NAME bash" "a shell in the system container"
    hint "docker exec $DEMO_NAME systemctl status" "its services"
    hint "docker exec $DEMO_NAME cat /proc/self/uid_map" "root inside, an unprivileged range outside"
    hint "docker rm -f $DEMO_NAME" "remove it"
  fi
  hint "docker run --runtime=sysbox-runc --rm -it sysbox-test/debian:bookworm bash"
  hint "sudo bash scripts/test.sh" "the whole test suite"
  echo "  daemon logs: $logs"
}

main() {
  cd "$ROOT"
  host_checks
  if [ "$CHECK_ONLY" = 1 ]; then
    echo "install.sh: host checks passed (--check-only: nothing was changed)"
    return 0
  fi
  local t0
  t0=$(now_s)
  if prebuilt_current; then
    PREBUILT=1
    STEP_TOTAL=$((STEP_TOTAL - 3))
    log "build/ has sysbox-runc, sysbox-mgr and sysbox-fs newer than every source file: installing these prebuilt binaries (no Bun download, npm ci or build)"
  else
    stage "Bun"
    ensure_bun
    log "bun $(bun --version)"
    recheck_kernel
    stage "dependencies (npm ci)"
    install_deps
    stage "build"
    bun run build
  fi
  stage "binaries to $BIN_DIR"
  install_binaries
  stage "daemons"
  start_daemons
  report_user
  # dockerd.sh registers the runtime by merging it into daemon.json (other
  # keys kept) and starts dockerd, or makes a running one reload.
  stage "Docker"
  SYSBOX_RUNC_PATH=$BIN_DIR/sysbox-runc bash "$ROOT/scripts/dockerd.sh" start
  if [ "$DEMO" = 1 ]; then
    stage "image $DEMO_IMAGE (a first build takes a few minutes)"
    bash "$ROOT/scripts/images.sh" syscont
    stage "system container $DEMO_NAME"
    start_demo
  fi
  log "done in $(elapsed_since "$t0")s"
  next_steps
}

# Sourced (by tests, to read unit_text and friends), it defines and does nothing.
[ "${BASH_SOURCE[0]}" != "$0" ] || main
