/**
 * scripts/uninstall.sh and scripts/rm-syscont.sh on simulated hosts; the
 * real installation is never touched. uninstall.sh is sourced (which defines
 * its functions and runs nothing), pointed at a host tree in a temporary
 * directory, and run there: fake daemons (copies of `sleep` named
 * sysbox-mgr and sysbox-fs), a fake dockerd that re-reads daemon.json on
 * SIGHUP, and stubs first on PATH for docker, systemctl, umount, pgrep,
 * getent, userdel and groupdel that record their calls.
 * test/uninstall.e2e.ts uninstalls and reinstalls the real thing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync,
  symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const UNINSTALL = join(ROOT, "scripts", "uninstall.sh");
const RM_SYSCONT = join(ROOT, "scripts", "rm-syscont.sh");
const isRoot = process.getuid?.() === 0;
const SLEEP = Bun.which("sleep")!;
/** Each test runs the script a few times, with fake daemons to stop. */
const T = 60_000;

const SYS_A = "a".repeat(64);
const SYS_B = "b".repeat(64);
const RUNC_C = "c".repeat(64);
/** `docker ps -a` as the docker stub sees it: id runtime status name. */
const CONTAINERS = [
  `${SYS_A} sysbox-runc running sc-running`,
  `${SYS_B} sysbox-runc exited sc-stopped`,
  `${RUNC_C} runc running plain-runc`,
];

/** docker: `info` answers from what the fake dockerd loaded; ps/inspect/rm work on the containers file. */
const DOCKER_STUB = String.raw`#!/bin/bash
S=$STUB_STATE
echo "docker $*" >>"$S/calls"
[ ! -f "$S/dockerd-down" ] || { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
case $1 in
  info)
    case "$*" in
      *Runtimes*) printf 'runc '; grep -q '"sysbox-runc"' "$S/loaded.json" 2>/dev/null && printf 'sysbox-runc '; echo ;;
      *DefaultRuntime*) grep -q '"default-runtime": *"sysbox-runc"' "$S/loaded.json" 2>/dev/null && echo sysbox-runc || echo runc ;;
      *) echo "Server Version: stub" ;;
    esac ;;
  ps) awk '{ print $1 }' "$S/containers" ;;
  inspect)
    shift 2
    rc=0
    for id; do grep -q "^$id " "$S/containers" || { echo "No such object: $id" >&2; rc=1; continue; }
      awk -v id="$id" '$1 == id { print $1, $2, $3, "/" $4 }' "$S/containers"; done
    exit $rc ;;
  rm)
    shift; [ "$1" = -f ] && shift
    for id; do grep -v "^$id " "$S/containers" >"$S/containers.new" || true; mv "$S/containers.new" "$S/containers"; echo "$id"; done ;;
  *) exit 1 ;;
esac
`;

/** systemctl: records; is-active from files; reload docker.service re-reads daemon.json. */
const SYSTEMCTL_STUB = String.raw`#!/bin/bash
S=$STUB_STATE
echo "systemctl $*" >>"$S/calls"
case $1 in
  is-active) for last; do :; done; [ -f "$S/active-$last" ] ;;
  stop) shift; for u; do rm -f "$S/active-$u"; done ;;
  reload) [ "$2" = docker.service ] && cp "$S/daemon.json.path-target" "$S/loaded.json" ;;
  *) exit 0 ;;
esac
`;

/** umount drops the mount from the fake mount table. */
const UMOUNT_BODY = String.raw`mp=$1; [ "$mp" != -l ] || mp=$2
while IFS= read -r line; do
  set -- $line
  [ "$(printf '%b' "$5")" = "$mp" ] || printf '%s\n' "$line"
done <"$STUB_STATE/mountinfo" >"$STUB_STATE/mountinfo.new"
mv "$STUB_STATE/mountinfo.new" "$STUB_STATE/mountinfo"`;

const RECORD_STUB = (name: string, body = "exit 0") => `#!/bin/bash\necho "${name} $*" >>"$STUB_STATE/calls"\n${body}\n`;

/** A fake dockerd: on SIGHUP it "reloads" daemon.json (unless told to ignore it). */
const DOCKERD_FAKE = String.raw`#!/bin/bash
trap '[ -f "$STUB_STATE/ignore-hup" ] || cp "$STUB_STATE/daemon.json.path-target" "$STUB_STATE/loaded.json"; echo "dockerd SIGHUP" >>"$STUB_STATE/calls"' HUP
while :; do sleep 0.05 & wait $!; done
`;

interface Host {
  dir: string;
  stubs: string;
  state: string;
  bin: string;
  units: string;
  unitLinks: string;
  run: string;
  data: string;
  fs: string;
  logs: string;
  etc: string;
  daemonJson: string;
  mountinfo: string;
  dockerPidfile: string;
}

const procs: Array<ReturnType<typeof Bun.spawn>> = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function script(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** An empty host: directories and stubs, nothing of sysbox-ts installed. */
function emptyHost(): Host {
  const dir = mkdtempSync(join(tmpdir(), "uninstall-test-"));
  dirs.push(dir);
  const h: Host = {
    dir,
    stubs: join(dir, "stubs"),
    state: join(dir, "state"),
    bin: join(dir, "usr", "bin"),
    units: join(dir, "lib", "systemd", "system"),
    unitLinks: join(dir, "etc", "systemd", "system"),
    run: join(dir, "run", "sysbox"),
    data: join(dir, "var", "lib", "sysbox"),
    fs: join(dir, "var", "lib", "sysboxfs"),
    logs: join(dir, "var", "log"),
    etc: join(dir, "etc"),
    daemonJson: join(dir, "etc", "docker", "daemon.json"),
    mountinfo: join(dir, "state", "mountinfo"),
    dockerPidfile: join(dir, "run", "docker.pid"),
  };
  for (const d of [h.stubs, h.state, h.bin, h.units, h.unitLinks, h.logs, join(h.etc, "docker"), join(dir, "run")]) {
    mkdirSync(d, { recursive: true });
  }
  script(join(h.stubs, "docker"), DOCKER_STUB);
  script(join(h.stubs, "systemctl"), SYSTEMCTL_STUB);
  script(join(h.stubs, "umount"), RECORD_STUB("umount", UMOUNT_BODY));
  script(join(h.stubs, "pgrep"), RECORD_STUB("pgrep", "exit 1"));
  script(join(h.stubs, "userdel"), RECORD_STUB("userdel", `rm -f "$STUB_STATE/user"`));
  script(join(h.stubs, "groupdel"), RECORD_STUB("groupdel", `rm -f "$STUB_STATE/group"`));
  script(
    join(h.stubs, "getent"),
    `#!/bin/bash\n[ "$2" = sysbox ] && [ -f "$STUB_STATE/$([ "$1" = passwd ] && echo user || echo group)" ] && echo "sysbox:x:999:995::/nonexistent:/usr/sbin/nologin"\n`,
  );
  writeFileSync(join(h.state, "containers"), "");
  writeFileSync(join(h.state, "calls"), "");
  writeFileSync(h.mountinfo, "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n");
  // The fake dockerd and systemctl reload read daemon.json through this link.
  symlinkSync(h.daemonJson, join(h.state, "daemon.json.path-target"));
  return h;
}

/** Starts the fake dockerd (pid file written) with daemon.json loaded as it is now. */
function startDockerd(h: Host): number {
  if (existsSync(h.daemonJson)) copyFileSync(h.daemonJson, join(h.state, "loaded.json"));
  script(join(h.state, "dockerd"), DOCKERD_FAKE);
  const p = Bun.spawn([join(h.state, "dockerd")], { env: { ...process.env, STUB_STATE: h.state }, stdio: ["ignore", "ignore", "ignore"] });
  procs.push(p);
  writeFileSync(h.dockerPidfile, `${p.pid}\n`);
  return p.pid;
}

/** A background daemon: a copy of `sleep` at BIN/name, optionally with pid files. */
function startDaemon(h: Host, name: string, pidFiles: string[]): number {
  const p = Bun.spawn([join(h.bin, name), "1000"], { stdio: ["ignore", "ignore", "ignore"] });
  procs.push(p);
  for (const f of pidFiles) writeFileSync(join(h.run, f), `${p.pid}\n`);
  return p.pid;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const USER_CONFIG = {
  "log-level": "warn",
  labels: ["site=lab"],
  "max-concurrent-downloads": 5,
  "default-runtime": "sysbox-runc",
  runtimes: { "my-runc": { path: "/usr/sbin/runc" }, "sysbox-runc": { path: "/usr/bin/sysbox-runc" } },
};

interface Installed {
  dockerd: number;
  mgr: number;
  fs: number;
  /** A second sysbox-fs no pid file names (found by its executable). */
  strayFs: number;
  keeper: number;
}

/** A host with everything installed as install.sh does without systemd. */
function installedHost(): { h: Host; p: Installed } {
  const h = emptyHost();
  mkdirSync(h.run, { recursive: true });
  for (const b of ["sysbox-mgr", "sysbox-fs"]) copyFileSync(SLEEP, join(h.bin, b));
  script(join(h.bin, "sysbox-runc"), "#!/bin/sh\n");
  writeFileSync(join(h.bin, ".sysbox-fs.new"), "");
  const cfg = { ...USER_CONFIG, runtimes: { ...USER_CONFIG.runtimes, "sysbox-runc": { path: join(h.bin, "sysbox-runc") } } };
  writeFileSync(h.daemonJson, `${JSON.stringify(cfg, null, 2)}\n`);
  writeFileSync(join(h.state, "containers"), `${CONTAINERS.join("\n")}\n`);
  const dockerd = startDockerd(h);
  const mgr = startDaemon(h, "sysbox-mgr", ["sysbox-mgr.pid", "sysmgr.pid"]);
  const fs = startDaemon(h, "sysbox-fs", ["sysbox-fs.pid", "sysfs.pid"]);
  const strayFs = startDaemon(h, "sysbox-fs", []);
  // A container's FUSE mount point, its keeper, and a mount with a space.
  const mnt = join(h.fs, "c0ffee");
  mkdirSync(mnt, { recursive: true });
  mkdirSync(join(h.fs, "with space"), { recursive: true });
  writeFileSync(join(h.fs, "with space", "x"), "");
  const keeperP = Bun.spawn([SLEEP, "infinity"], {
    argv0: `sysbox-fs-keeper ${mnt} ${join(h.run, "fs-state.json")}`,
    stdio: ["ignore", "ignore", "ignore"],
  });
  procs.push(keeperP);
  writeFileSync(
    h.mountinfo,
    [
      "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw",
      `90 22 0:50 / ${mnt} rw,nosuid,nodev,relatime - fuse sysboxfs rw,user_id=0,group_id=0`,
      `91 90 0:50 /proc/sys ${mnt}/proc/sys rw - fuse sysboxfs rw`,
      `92 22 0:51 / ${h.fs.replaceAll(" ", "\\040")}/with\\040space rw - tmpfs tmpfs rw`,
      `93 22 0:52 / ${h.fs}x rw - tmpfs tmpfs rw`,
      `94 22 8:1 ${h.fs} ${h.fs} rw shared:4 - ext4 /dev/sda1 rw`,
      `95 22 8:1 ${h.run}/stage ${h.run}/stage rw - ext4 /dev/sda1 rw`,
    ].join("\n") + "\n",
  );
  // State and logs that only --purge removes.
  mkdirSync(join(h.data, "docker"), { recursive: true });
  writeFileSync(join(h.data, "mgr-state.json"), "{}");
  for (const f of ["sysbox-mgr.log", "sysbox-mgr.out.log", "sysbox-fs.log", "sysbox-fs.out.log", "dockerd.log"]) {
    writeFileSync(join(h.logs, f), "x\n");
  }
  writeFileSync(join(h.etc, "subuid"), "alice:100000:65536\nsysbox:165536:268435456\nbob:300000:65536\n");
  writeFileSync(join(h.etc, "subgid"), "sysbox:165536:268435456\nalice:100000:65536\n");
  chmodSync(join(h.etc, "subgid"), 0o640);
  writeFileSync(join(h.state, "user"), "");
  writeFileSync(join(h.state, "group"), "");
  return { h, p: { dockerd, mgr, fs, strayFs, keeper: keeperP.pid } };
}

interface Result {
  code: number;
  out: string;
  err: string;
  calls: string[];
}

function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs uninstall.sh's main with `args` against host `h`. */
function uninstall(h: Host, args: string[] = [], opts: { systemd?: boolean } = {}): Result {
  writeFileSync(join(h.state, "calls"), "");
  const prelude = `
source ${q(UNINSTALL)}
require_root() { :; }
systemd_is_init() { ${opts.systemd ? "true" : "false"}; }
BIN_DIR=${q(h.bin)}
UNIT_DIR=${q(h.units)}
UNIT_LINK_DIR=${q(h.unitLinks)}
RUN_DIR=${q(h.run)}
DATA_DIR=${q(h.data)}
FS_DIR=${q(h.fs)}
LOG_DIR=${q(h.logs)}
DAEMON_JSON=${q(h.daemonJson)}
DOCKER_PIDFILE=${q(h.dockerPidfile)}
SUBID_FILES=(${q(join(h.etc, "subuid"))} ${q(join(h.etc, "subgid"))})
MOUNTINFO=${q(h.mountinfo)}
STOP_TIMEOUT=5
RELOAD_TIMEOUT=2
main "$@"
`;
  return runStubbed(h, ["bash", "-c", prelude, "uninstall.sh", ...args]);
}

/** Runs argv with the host's stubs first on PATH; what it printed and the stub calls it made. */
function runStubbed(h: Host, argv: string[]): Result {
  const r = Bun.spawnSync(argv, {
    env: { ...process.env, PATH: `${h.stubs}:${process.env.PATH}`, STUB_STATE: h.state },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    code: r.exitCode ?? -1,
    out: r.stdout.toString(),
    err: r.stderr.toString(),
    calls: readFileSync(join(h.state, "calls"), "utf8").split("\n").filter(Boolean),
  };
}

function containers(h: Host): string[] {
  return readFileSync(join(h.state, "containers"), "utf8").split("\n").filter(Boolean);
}

/** Calls that change something (docker's reads and the stubs' own queries aside). */
function changingCalls(calls: string[]): string[] {
  return calls.filter((c) => !/^docker (info|ps|inspect)|^systemctl is-active|^pgrep/.test(c));
}

describe("uninstall.sh", () => {
  test("--help shows the options; an unknown option is a usage error", () => {
    const help = Bun.spawnSync(["bash", UNINSTALL, "--help"], { stdout: "pipe", stderr: "pipe" });
    expect(help.exitCode).toBe(0);
    const text = help.stdout.toString();
    expect(text).toContain("scripts/uninstall.sh [--remove-containers] [--purge]");
    expect(text).toContain("--remove-containers  first remove the system containers");
    expect(text).toContain("--purge");
    expect(text).not.toContain("#!/");
    expect(text).not.toContain("set -euo");
    const bad = Bun.spawnSync(["bash", UNINSTALL, "--force"], { stdout: "pipe", stderr: "pipe" });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("--remove-containers");
  }, T);

  test.skipIf(!isRoot)("not root: refuses and says how to run it [requires root, to drop it]", () => {
    const dir = mkdtempSync(join(tmpdir(), "uninstall-copy-"));
    dirs.push(dir);
    mkdirSync(join(dir, "scripts"));
    for (const f of ["uninstall.sh", "rm-syscont.sh", "lib.sh"]) cpSync(join(ROOT, "scripts", f), join(dir, "scripts", f));
    for (const p of [dir, join(dir, "scripts")]) chmodSync(p, 0o755);
    const r = Bun.spawnSync(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", join(dir, "scripts", "uninstall.sh")],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("must run as root");
  }, T);

  test("refuses while system containers exist, lists them and the flag, and changes nothing", () => {
    const { h, p } = installedHost();
    const json = readFileSync(h.daemonJson, "utf8");
    const r = uninstall(h);
    expect(r.code).toBe(1);
    expect(r.err).toContain("uninstall.sh: 2 system container(s) exist (Docker containers with runtime sysbox-runc); nothing was changed:");
    expect(r.err).toMatch(/^ {2}sc-running +aaaaaaaaaaaa {2}running$/m);
    expect(r.err).toMatch(/^ {2}sc-stopped +bbbbbbbbbbbb {2}exited$/m);
    expect(r.err).not.toContain("plain-runc");
    expect(r.err).toContain("sudo bash scripts/uninstall.sh --remove-containers");
    expect(r.err).toContain("sudo bash scripts/rm-syscont.sh");
    expect(r.err).not.toContain("[2/5]");
    expect(changingCalls(r.calls)).toEqual([]);
    expect(containers(h)).toEqual(CONTAINERS);
    expect(readFileSync(h.daemonJson, "utf8")).toBe(json);
    for (const b of ["sysbox-runc", "sysbox-mgr", "sysbox-fs"]) expect(existsSync(join(h.bin, b))).toBe(true);
    for (const pid of [p.mgr, p.fs, p.strayFs, p.keeper]) expect(alive(pid)).toBe(true);
  }, T);

  test("--remove-containers: removes them, then everything; other keys, runtimes and containers stay; a re-run has nothing to remove", () => {
    const { h, p } = installedHost();
    const r = uninstall(h, ["--remove-containers"]);
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);

    // Progress lines, one stage each.
    for (const s of ["[1/5] system containers", "[2/5] Docker runtime sysbox-runc", "[3/5] daemons", "[4/5] mounts under", "[5/5] binaries in"]) {
      expect(r.err).toContain(s);
    }
    // Only the system containers were removed, in one docker rm -f.
    expect(r.calls.filter((c) => c.startsWith("docker rm"))).toEqual([`docker rm -f ${SYS_A} ${SYS_B}`]);
    expect(containers(h)).toEqual([CONTAINERS[2]!]);
    expect(r.err).toContain("removed 2 system container(s)");

    // daemon.json: valid, the user's keys intact, no sysbox-runc, no default-runtime naming it.
    const cfg = JSON.parse(readFileSync(h.daemonJson, "utf8"));
    const { "default-runtime": _d, runtimes: _r, ...userKeys } = USER_CONFIG;
    expect(cfg).toEqual({ ...userKeys, runtimes: { "my-runc": { path: "/usr/sbin/runc" } } });
    expect(Object.keys(cfg)).toEqual(["log-level", "labels", "max-concurrent-downloads", "runtimes"]);
    expect(r.err).toContain(`"default-runtime" was sysbox-runc: removed too`);
    // dockerd was reloaded (SIGHUP, no systemd), still runs, and no longer lists the runtime.
    expect(r.calls).toContain("dockerd SIGHUP");
    expect(r.calls.some((c) => c.startsWith("systemctl"))).toBe(false);
    expect(alive(p.dockerd)).toBe(true);
    expect(r.err).toContain("dockerd no longer lists runtime sysbox-runc; runtimes: runc");

    // Daemons (the stray one too) and the keeper are gone, pid files removed.
    for (const pid of [p.mgr, p.fs, p.strayFs, p.keeper]) expect(alive(pid)).toBe(false);
    expect(r.err).toContain(`sysbox-mgr: stopping (pid ${p.mgr})`);
    expect(r.err).toContain(`sysbox-fs: stopping (pid ${p.strayFs})`);
    expect(readdirSync(h.run)).toEqual([]);

    // Mounts under FS_DIR unmounted deepest first, escapes decoded; a mount beside it untouched.
    expect(r.calls.filter((c) => c.startsWith("umount"))).toEqual([
      `umount ${h.fs}/c0ffee/proc/sys`,
      `umount ${h.fs}/with space`,
      `umount ${h.fs}/c0ffee`,
      `umount ${h.fs}`,
      `umount ${h.run}/stage`,
    ]);
    // The emptied mount point is gone; one with content stays.
    expect(readdirSync(h.fs)).toEqual(["with space"]);

    // Binaries (and an interrupted install's copy) are gone.
    expect(readdirSync(h.bin)).toEqual([]);

    // Without --purge: state, logs and the user are kept, and the last lines say so.
    expect(existsSync(join(h.data, "mgr-state.json"))).toBe(true);
    expect(existsSync(join(h.logs, "sysbox-mgr.log"))).toBe(true);
    expect(r.calls.some((c) => /^(userdel|groupdel)/.test(c))).toBe(false);
    expect(r.out).toContain("sysbox-ts is uninstalled");
    expect(r.out).toContain(`Kept (--purge removes them): ${h.data}, ${h.fs}, ${h.logs}/sysbox-*.log, user sysbox`);

    // Again: nothing to remove, exit 0, nothing changed.
    const json = readFileSync(h.daemonJson, "utf8");
    const again = uninstall(h, ["--remove-containers"]);
    expect(again.code).toBe(0);
    expect(again.out).toContain("Nothing to remove: sysbox-ts is not installed.");
    expect(changingCalls(again.calls)).toEqual([]);
    expect(readFileSync(h.daemonJson, "utf8")).toBe(json);
    expect(containers(h)).toEqual([CONTAINERS[2]!]);
  }, T);

  test("a host with nothing installed: says so, exit 0, creates nothing", () => {
    const h = emptyHost();
    writeFileSync(join(h.state, "containers"), `${CONTAINERS[2]}\n`);
    startDockerd(h);
    for (const args of [[], ["--purge"], ["--remove-containers", "--purge"]]) {
      const r = uninstall(h, args);
      expect(r.code).toBe(0);
      expect(r.out).toContain("Nothing to remove: sysbox-ts is not installed.");
      expect(r.out).not.toContain("Kept");
      expect(r.err).toContain(`${h.daemonJson} does not register sysbox-runc`);
      expect(r.err).toContain("sysbox-mgr and sysbox-fs are not running");
      expect(changingCalls(r.calls)).toEqual([]);
    }
    expect(existsSync(h.daemonJson)).toBe(false);
    expect(existsSync(h.run)).toBe(false);
    expect(containers(h)).toEqual([CONTAINERS[2]!]);
  }, T);

  test("--purge also removes state, logs, the user and only its subuid/subgid lines", () => {
    const { h } = installedHost();
    const r = uninstall(h, ["--remove-containers", "--purge"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("[6/6] state, logs and the sysbox user (--purge)");
    for (const d of [h.data, h.fs, h.run]) expect(existsSync(d)).toBe(false);
    expect(readdirSync(h.logs)).toEqual(["dockerd.log"]);
    expect(readFileSync(join(h.etc, "subuid"), "utf8")).toBe("alice:100000:65536\nbob:300000:65536\n");
    expect(readFileSync(join(h.etc, "subgid"), "utf8")).toBe("alice:100000:65536\n");
    expect(statSync(join(h.etc, "subgid")).mode & 0o777).toBe(0o640);
    expect(r.calls).toContain("userdel sysbox");
    expect(r.calls).toContain("groupdel sysbox");
    expect(r.out).not.toContain("Kept");

    const again = uninstall(h, ["--purge"]);
    expect(again.code).toBe(0);
    expect(again.out).toContain("Nothing to remove");
    expect(changingCalls(again.calls)).toEqual([]);
  }, T);

  test("systemd: units stopped, disabled, removed (and their links), daemon-reload; dockerd reloaded through systemctl", () => {
    const { h, p } = installedHost();
    // Under systemd the daemons run from units; a unit stop leaves nothing in
    // this simulation, so no pid files and no daemon processes.
    for (const pid of [p.mgr, p.fs, p.strayFs]) process.kill(pid, "SIGKILL");
    rmSync(h.run, { recursive: true, force: true });
    mkdirSync(h.run);
    const units = ["sysbox.service", "sysbox-mgr.service", "sysbox-fs.service"];
    for (const u of units) {
      writeFileSync(join(h.units, u), `[Unit]\nDescription=${u}\n`);
      writeFileSync(join(h.state, `active-${u}`), "");
    }
    writeFileSync(join(h.state, "active-docker.service"), "");
    mkdirSync(join(h.unitLinks, "multi-user.target.wants"), { recursive: true });
    mkdirSync(join(h.unitLinks, "sysbox.service.wants"), { recursive: true });
    symlinkSync(join(h.units, "sysbox.service"), join(h.unitLinks, "multi-user.target.wants", "sysbox.service"));
    symlinkSync(join(h.units, "sysbox-mgr.service"), join(h.unitLinks, "sysbox.service.wants", "sysbox-mgr.service"));
    symlinkSync("/lib/systemd/system/other.service", join(h.unitLinks, "multi-user.target.wants", "other.service"));

    const r = uninstall(h, ["--remove-containers"], { systemd: true });
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    const sc = r.calls.filter((c) => c.startsWith("systemctl") && !c.startsWith("systemctl is-active"));
    expect(sc).toEqual([
      "systemctl reload docker.service",
      `systemctl stop ${units.join(" ")}`,
      `systemctl disable ${units.join(" ")}`,
      "systemctl daemon-reload",
      `systemctl reset-failed ${units.join(" ")}`,
    ]);
    expect(r.calls).not.toContain("dockerd SIGHUP");
    expect(r.err).toContain("dockerd no longer lists runtime sysbox-runc");
    expect(readdirSync(h.units)).toEqual([]);
    expect(readdirSync(join(h.unitLinks, "multi-user.target.wants"))).toEqual(["other.service"]);
    expect(readdirSync(join(h.unitLinks, "sysbox.service.wants"))).toEqual([]);
    expect(alive(p.keeper)).toBe(false);
    expect(readdirSync(h.bin)).toEqual([]);

    const again = uninstall(h, [], { systemd: true });
    expect(again.code).toBe(0);
    expect(again.out).toContain("Nothing to remove");
    expect(again.err).toContain("no sysbox systemd units");
    expect(changingCalls(again.calls)).toEqual([]);
  }, T);

  test("dockerd not answering: refuses before changing anything", () => {
    const { h, p } = installedHost();
    writeFileSync(join(h.state, "dockerd-down"), "");
    const json = readFileSync(h.daemonJson, "utf8");
    const r = uninstall(h, ["--remove-containers"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dockerd does not answer (docker info failed), so the system containers cannot be listed");
    expect(readFileSync(h.daemonJson, "utf8")).toBe(json);
    expect(alive(p.mgr)).toBe(true);
    expect(existsSync(join(h.bin, "sysbox-runc"))).toBe(true);
  }, T);

  test("an invalid daemon.json is left untouched and stops the uninstall before the daemons", () => {
    const { h, p } = installedHost();
    writeFileSync(join(h.state, "containers"), `${CONTAINERS[2]}\n`);
    const bad = `{"runtimes": {"sysbox-runc": {"path": "/usr/bin/sysbox-runc"}},}`;
    writeFileSync(h.daemonJson, bad);
    const r = uninstall(h);
    expect(r.code).toBe(1);
    expect(r.err).toContain("is not valid JSON");
    expect(r.err).toContain("fix it and run this again");
    expect(readFileSync(h.daemonJson, "utf8")).toBe(bad);
    expect(alive(p.mgr)).toBe(true);
    expect(existsSync(join(h.bin, "sysbox-runc"))).toBe(true);
  }, T);

  test("a dockerd that keeps the runtime after the reload is an error, before the daemons stop", () => {
    const { h, p } = installedHost();
    writeFileSync(join(h.state, "ignore-hup"), "");
    const r = uninstall(h, ["--remove-containers"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dockerd still lists runtime sysbox-runc 2s after the reload");
    expect(alive(p.mgr)).toBe(true);
    // Fixed (dockerd reloads now), a re-run reloads it again although daemon.json is done.
    rmSync(join(h.state, "ignore-hup"));
    const again = uninstall(h);
    expect(again.code).toBe(0);
    expect(again.calls).toContain("dockerd SIGHUP");
    expect(alive(p.mgr)).toBe(false);
  }, T);

  test("a sysbox-runc runtime with another path is not ours: kept, with a warning", () => {
    const { h } = installedHost();
    writeFileSync(join(h.state, "containers"), "");
    const cfg = { debug: true, runtimes: { "sysbox-runc": { path: "/opt/sysbox/sysbox-runc" } } };
    writeFileSync(h.daemonJson, JSON.stringify(cfg));
    copyFileSync(h.daemonJson, join(h.state, "loaded.json"));
    const r = uninstall(h);
    expect(r.code).toBe(0);
    expect(r.err).toContain("warning:");
    expect(r.err).toContain("has path /opt/sysbox/sysbox-runc");
    expect(JSON.parse(readFileSync(h.daemonJson, "utf8"))).toEqual(cfg);
    expect(r.calls).not.toContain("dockerd SIGHUP");
  }, T);
});

describe("rm-syscont.sh", () => {
  function rmSyscont(h: Host, args: string[]): Result {
    writeFileSync(join(h.state, "calls"), "");
    return runStubbed(h, ["bash", RM_SYSCONT, ...args]);
  }

  test("--dry-run lists the system containers only and removes nothing", () => {
    const h = emptyHost();
    writeFileSync(join(h.state, "containers"), `${CONTAINERS.join("\n")}\n`);
    const r = rmSyscont(h, ["--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("would remove 2 system container(s) (--dry-run: nothing removed):");
    expect(r.err).toContain("sc-running");
    expect(r.err).toContain("sc-stopped");
    expect(r.err).not.toContain("plain-runc");
    expect(r.calls.some((c) => c.startsWith("docker rm"))).toBe(false);
    expect(containers(h)).toEqual(CONTAINERS);
  }, T);

  test("removes every sysbox-runc container, running or not, and leaves runc ones; then there are none", () => {
    const h = emptyHost();
    writeFileSync(join(h.state, "containers"), `${CONTAINERS.join("\n")}\n`);
    const r = rmSyscont(h, []);
    expect(r.code).toBe(0);
    expect(r.calls.filter((c) => c.startsWith("docker rm"))).toEqual([`docker rm -f ${SYS_A} ${SYS_B}`]);
    expect(containers(h)).toEqual([CONTAINERS[2]!]);
    expect(r.err).toContain("removed 2 system container(s)");
    const again = rmSyscont(h, []);
    expect(again.code).toBe(0);
    expect(again.err).toContain("no system containers");
  }, T);

  test("a container that survives docker rm -f is reported, exit 1", () => {
    const h = emptyHost();
    writeFileSync(join(h.state, "containers"), `${CONTAINERS.join("\n")}\n`);
    // docker rm that removes nothing.
    const stub = readFileSync(join(h.stubs, "docker"), "utf8").replace(
      /  rm\)\n.*\n.*\n/,
      "  rm) exit 1 ;;\n",
    );
    script(join(h.stubs, "docker"), stub);
    const r = rmSyscont(h, []);
    expect(r.code).toBe(1);
    expect(r.err).toContain("2 system container(s) could not be removed:");
    expect(containers(h)).toEqual(CONTAINERS);
  }, T);

  test("dockerd not answering: exit 1; --help; unknown option", () => {
    const h = emptyHost();
    writeFileSync(join(h.state, "dockerd-down"), "");
    const r = rmSyscont(h, []);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dockerd does not answer");
    const help = rmSyscont(h, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("scripts/rm-syscont.sh [--dry-run]");
    expect(rmSyscont(h, ["--bogus"]).code).toBe(2);
  }, T);
});
