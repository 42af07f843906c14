#!/usr/bin/env bash
# The job scripts/vm-test.sh runs inside the test VM (as job.sh on the 9p
# share, by the guest's oneshot unit): it installs sysbox-ts the way a user
# does, from a copy of the repository on the guest's own disk with the
# binaries built on the host, then runs the guest tests (test/vm/*.guest.ts)
# with a copy of the host's bun. Everything it prints is the stage's output;
# bun's summary lines in it are counted by scripts/test.sh.
set -uo pipefail
SHARE=${SYSBOX_VM_SHARE:-/mnt/host}
DEST=/opt/sysbox-ts
# A guest test may take minutes under software emulation.
TEST_TIMEOUT_MS=600000

t_start=$SECONDS
note() { printf '[guest %4ds] %s\n' "$((SECONDS - t_start))" "$*"; }

# A look inside while it runs: the host drops a script in SHARE/debug/ (e.g.
# `echo 'systemctl status' >SHARE/debug/1.sh`); its output appears beside it
# as 1.out.
debug_agent() {
  local f
  mkdir -p "$SHARE/debug"
  while sleep 2; do
    for f in "$SHARE"/debug/*.sh; do
      [ -f "$f" ] || continue
      mv "$f" "$f.run"
      timeout 120 bash "$f.run" >"${f%.sh}.out.tmp" 2>&1
      mv "${f%.sh}.out.tmp" "${f%.sh}.out"
    done
  done
}
debug_agent </dev/null >/dev/null 2>&1 &

note "kernel $(uname -r), $(stat -fc %T /sys/fs/cgroup), systemd $(systemctl is-system-running 2>&1)"
note "$(docker info --format 'docker {{.ServerVersion}}, cgroup driver {{.CgroupDriver}}, cgroup v{{.CgroupVersion}}' 2>&1)"
install -m 0755 "$SHARE/bun" /usr/local/bin/bun
mkdir -p "$DEST"
tar -xf "$SHARE/repo.tar" -C "$DEST"
cd "$DEST" || exit 1
note "bash scripts/install.sh (log: install.log)"
t0=$SECONDS
bash scripts/install.sh >"$SHARE/install.log" 2>&1
install_rc=$?
note "install.sh exited $install_rc in $((SECONDS - t0))s"
sed 's/^/    /' "$SHARE/install.log" | tail -n 25
echo "$install_rc" >"$SHARE/install.rc"

export SYSBOX_VM_INSTALL_RC=$install_rc SYSBOX_VM_INSTALL_LOG=$SHARE/install.log
rc=0
# SHARE/tests.txt, if there, names the only files to run (e.g. "cgroup syscont").
wanted() { [ ! -f "$SHARE/tests.txt" ] || grep -qw -- "$1" "$SHARE/tests.txt"; }
tests=()
for f in ./test/vm/*.guest.ts; do
  b=${f##*/}; b=${b%.guest.ts}
  [ "$b" != uninstall ] && wanted "$b" && tests+=("$f")
done
if [ "${#tests[@]}" -gt 0 ]; then
  note "bun test ${tests[*]}"
  bun test --timeout "$TEST_TIMEOUT_MS" "${tests[@]}" 2>&1 || rc=1
fi
# Last, on its own: it removes what the others use.
if [ -f ./test/vm/uninstall.guest.ts ] && wanted uninstall; then
  note "bun test ./test/vm/uninstall.guest.ts"
  bun test --timeout "$TEST_TIMEOUT_MS" ./test/vm/uninstall.guest.ts 2>&1 || rc=1
fi
journalctl -b --no-pager -u sysbox-mgr -u sysbox-fs -u sysbox -u docker >"$SHARE/journal.log" 2>&1 || true
note "done (exit $rc)"
exit "$rc"
