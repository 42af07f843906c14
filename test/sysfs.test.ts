/**
 * End to end: sysbox-fs as a real process with its own run dir and mount
 * root, driven through the client sysbox-runc uses. Container inits are
 * `sleep` processes (some in their own namespaces); every read through a
 * FUSE mount is made by a child process. Then, through the real dockerd and
 * the installed daemons, what system containers see of the emulated files.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDaemon, waitForSocket } from "../internal/ipc/mod.ts";
import { MNT } from "../internal/sys/flags.ts";
import { close, open, O_FLAGS } from "../internal/sys/fs.ts";
import { umount2 } from "../internal/sys/mount.ts";
import { registerWithFs, unregisterFromFs, type FsContainer } from "../internal/ipc/mod.ts";
import { loadState, STATE_FILE } from "../internal/sysboxfs/mod.ts";

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "cmd", "sysbox-fs", "main.ts");
const canFuse = process.getuid?.() === 0 && existsSync("/dev/fuse");
/** Each test starts sysbox-fs once or twice (about a second each on a busy machine). */
const TIMEOUT = 60_000;

type Proc = ReturnType<typeof Bun.spawn>;

let dir = "";
let runDir = "";
let mountRoot = "";
let logFile = "";
const daemons: Proc[] = [];
const inits: Proc[] = [];
const keeperPids = new Set<number>();

async function sh(script: string, timeoutMs = 10_000): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(t);
  return { code, out, err };
}

function noteKeepers(): void {
  const file = join(runDir, STATE_FILE);
  if (!existsSync(file)) return;
  for (const c of loadState(file).containers) if (c.keeper) keeperPids.add(c.keeper.pid);
}

async function startFs(extra: string[] = []): Promise<Proc> {
  const p = Bun.spawn([process.execPath, MAIN, "--run-dir", runDir, "--mountpoint", mountRoot, "--log", logFile, "--log-level", "debug", ...extra], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  daemons.push(p);
  await waitForSocket(join(runDir, "sysfs.sock"), { timeoutMs: 15_000 });
  return p;
}

async function kill9(p: Proc): Promise<void> {
  noteKeepers();
  p.kill("SIGKILL");
  await p.exited;
}

/** A stand-in for a container's init: `sleep`, optionally in new namespaces via unshare(1). */
async function fakeInit(unshare: string[] = []): Promise<Proc> {
  const p = Bun.spawn(unshare.length ? ["unshare", ...unshare, "--", "sleep", "1000"] : ["sleep", "1000"], { stdout: "ignore", stderr: "inherit" });
  inits.push(p);
  // With unshare, sleep replaces it (exec) in the same pid once namespaces exist.
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${p.pid}/comm`, "utf8").trim() === "sleep") break;
    } catch {}
    await Bun.sleep(5);
  }
  return p;
}

const ids: FsContainer = { initPid: 0, uidFirst: 165536, uidSize: 65536, gidFirst: 165536, gidSize: 65536 };

function mountsUnder(path: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp.startsWith(`${path}/`) || mp === path);
}

describe.skipIf(!canFuse)("sysbox-fs end to end [requires root and /dev/fuse]", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "e2e-fs-"));
    runDir = join(dir, "run");
    mountRoot = join(dir, "mnt");
    logFile = join(dir, "fs.log");
  });

  afterEach(async () => {
    noteKeepers();
    for (const p of daemons.splice(0)) {
      p.kill("SIGKILL");
      await p.exited;
    }
    // Unmount before the keepers go, so nothing can block on a mount nobody serves.
    for (const mp of mountsUnder(dir).reverse()) {
      try {
        umount2(mp, MNT.DETACH);
      } catch {}
    }
    for (const pid of keeperPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    keeperPids.clear();
    for (const p of inits.splice(0)) {
      p.kill("SIGKILL");
      await p.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("a registered container reads its own uptime and sysctls; the host's stay", async () => {
    await startFs();
    const init = await fakeInit();
    await Bun.sleep(1200);
    const hostPanic = readFileSync("/proc/sys/kernel/panic", "utf8");
    const reg = await registerWithFs("ctr-a", { ...ids, initPid: init.pid }, { runDir });
    const m = reg.mountpoint;
    expect(m).toBe(join(mountRoot, "ctr-a"));
    expect(reg.binds).toEqual([
      { source: `${m}/proc/uptime`, destination: "/proc/uptime" },
      { source: `${m}/proc/swaps`, destination: "/proc/swaps" },
      { source: `${m}/proc/meminfo`, destination: "/proc/meminfo" },
      { source: `${m}/proc/cpuinfo`, destination: "/proc/cpuinfo" },
      { source: `${m}/proc/stat`, destination: "/proc/stat" },
      { source: `${m}/proc/loadavg`, destination: "/proc/loadavg" },
      { source: `${m}/proc/diskstats`, destination: "/proc/diskstats" },
      { source: `${m}/proc/sys`, destination: "/proc/sys" },
      { source: `${m}/sys/kernel`, destination: "/sys/kernel" },
      { source: `${m}/sys/devices/virtual`, destination: "/sys/devices/virtual" },
      { source: `${m}/sys/module/nf_conntrack/parameters`, destination: "/sys/module/nf_conntrack/parameters" },
    ]);

    const r = await sh(`
      cat ${m}/proc/uptime
      cat /proc/uptime
      echo 7 > ${m}/proc/sys/kernel/panic && cat ${m}/proc/sys/kernel/panic
      (echo 99999999 > ${m}/proc/sys/kernel/pid_max) 2>/dev/null; echo "pid_max out of range: $?"
      cat ${m}/sys/devices/virtual/dmi/id/product_uuid
      head -1 ${m}/proc/swaps
      stat -c '%u %a' ${m}/proc/sys/kernel/panic ${m}/proc/sys/kernel/randomize_va_space
      cmp ${m}/sys/kernel/fscaps /sys/kernel/fscaps && echo "sys/kernel mirrors the host"
      ls -d ${m}/sys/kernel/debug > /dev/null && echo "debug dir present"
    `);
    expect(r.err).toBe("");
    const [ctrUp, hostUp, panic, pidMax, uuid, swaps, own1, own2, sysKernel, debugDir] = r.out.trimEnd().split("\n");
    expect(sysKernel).toBe("sys/kernel mirrors the host");
    expect(debugDir).toBe("debug dir present");
    const up = Number(ctrUp!.split(" ")[0]);
    // The init started ~1.2 s before registration; the host booted long before.
    expect(up).toBeGreaterThanOrEqual(1);
    expect(up).toBeLessThan(30);
    expect(Number(hostUp!.split(" ")[0])).toBeGreaterThan(up);
    expect(panic).toBe("7");
    expect(pidMax).toBe("pid_max out of range: 1");
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(swaps).toBe("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority");
    expect(own1).toBe("165536 644");
    expect(own2).toMatch(/^0 /);
    expect(readFileSync("/proc/sys/kernel/panic", "utf8")).toBe(hostPanic);

    // A second container has its own value; the same id again is idempotent.
    const init2 = await fakeInit();
    const reg2 = await registerWithFs("ctr-b", { ...ids, initPid: init2.pid }, { runDir });
    expect((await sh(`cat ${reg2.mountpoint}/proc/sys/kernel/panic`)).out).toBe(hostPanic);
    expect(await registerWithFs("ctr-a", { ...ids, initPid: init.pid }, { runDir })).toEqual(reg);
    expect((await sh(`cat ${m}/proc/sys/kernel/panic`)).out).toBe("7\n");

    using c = await connectDaemon("fs", { runDir });
    expect((await c.request("status", {})).fs).toEqual({ containers: 2 });
    expect(await unregisterFromFs("ctr-a", { runDir })).toBe("released");
    expect(await unregisterFromFs("ctr-a", { runDir })).toBe("unknown");
    expect(mountsUnder(m)).toEqual([]);
    expect(existsSync(m)).toBe(false);
    expect((await c.request("status", {})).fs).toEqual({ containers: 1 });

    // An init that does not exist is refused.
    await expect(registerWithFs("ctr-c", { ...ids, initPid: 999999999 }, { runDir })).rejects.toThrow("init process 999999999 is not running");
  }, TIMEOUT);

  test("kill -9 and restart: the mount, its values and a bind made from it keep working", async () => {
    const first = await startFs();
    const init = await fakeInit();
    const { mountpoint: m } = await registerWithFs("ctr-k", { ...ids, initPid: init.pid }, { runDir });
    await sh(`echo 3 > ${m}/proc/sys/kernel/panic`);
    // What sysbox-runc does inside the container, here on a host file.
    const target = join(dir, "uptime-bind");
    writeFileSync(target, "");
    expect((await sh(`mount --bind ${m}/proc/uptime ${target} && cat ${target}`)).code).toBe(0);

    await kill9(first);
    // A read while sysbox-fs is down waits for the next one instead of failing.
    const during = sh(`cat ${target}`, 20_000);
    await Bun.sleep(300);
    await startFs();
    const d = await during;
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/^\d+\.\d\d \d+\.\d\d\n$/);

    const r = await sh(`cat ${target}; cat ${m}/proc/sys/kernel/panic`);
    expect(r.err).toBe("");
    expect(r.out.split("\n")[1]).toBe("3");
    expect(readFileSync(logFile, "utf8")).toContain("container ctr-k: resumed its FUSE connection from keeper");
    await sh(`umount ${target}`);
  }, TIMEOUT);

  test("kill -9 and restart without keepers: mounted afresh (old binds are dead)", async () => {
    const first = await startFs(["--no-keepers"]);
    const init = await fakeInit();
    const { mountpoint: m } = await registerWithFs("ctr-n", { ...ids, initPid: init.pid }, { runDir });
    await sh(`echo 5 > ${m}/proc/sys/kernel/panic`);
    const target = join(dir, "uptime-bind");
    writeFileSync(target, "");
    expect((await sh(`mount --bind ${m}/proc/uptime ${target}`)).code).toBe(0);

    await kill9(first);
    expect((await sh(`cat ${m}/proc/uptime`)).err).toContain("Transport endpoint is not connected");
    await startFs(["--no-keepers"]);
    const r = await sh(`cat ${m}/proc/uptime && cat ${m}/proc/sys/kernel/panic`);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[1]).toBe("5");
    expect((await sh(`cat ${target}`)).err).toContain("Transport endpoint is not connected");
    expect(mountsUnder(m)).toHaveLength(1);
    expect(readFileSync(logFile, "utf8")).toContain("bind mounts made from the old one read ENOTCONN until rebound");
    await sh(`umount -l ${target}`);
  }, TIMEOUT);

  test("a restart forgets containers whose init is gone; SIGTERM leaves mounts for the next start", async () => {
    const first = await startFs();
    const gone = await fakeInit();
    const stays = await fakeInit();
    const a = await registerWithFs("ctr-gone", { ...ids, initPid: gone.pid }, { runDir });
    const b = await registerWithFs("ctr-stays", { ...ids, initPid: stays.pid }, { runDir });
    noteKeepers();
    gone.kill("SIGKILL");
    await gone.exited;

    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    // With keepers, a graceful stop leaves the mounts in place.
    expect(mountsUnder(b.mountpoint)).toHaveLength(1);

    await startFs();
    expect(mountsUnder(a.mountpoint)).toEqual([]);
    expect(existsSync(a.mountpoint)).toBe(false);
    expect((await sh(`cat ${b.mountpoint}/proc/swaps`)).code).toBe(0);
    expect(loadState(join(runDir, STATE_FILE)).containers.map((c) => c.id)).toEqual(["ctr-stays"]);
  }, TIMEOUT);

  test("a restart stops its own keepers that no saved container owns, and only those", async () => {
    const fd = open("/dev/fuse", O_FLAGS.RDWR | O_FLAGS.CLOEXEC);
    const stateFile = join(runDir, STATE_FILE);
    const keeper = (owner: string) =>
      Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore", fd], argv0: `sysbox-fs-keeper ${mountRoot}/ghost ${owner}` });
    // As if a run died after starting a keeper but before saving it; and one of another daemon.
    const ours = keeper(stateFile);
    const theirs = keeper(join(dir, "other-run", STATE_FILE));
    inits.push(ours, theirs);
    close(fd);
    for (let i = 0; i < 200 && !existsSync(`/proc/${theirs.pid}/fd/3`); i++) await Bun.sleep(5);
    await startFs();
    expect(await Promise.race([ours.exited, Bun.sleep(5000).then(() => "still running")])).not.toBe("still running");
    expect(theirs.exitCode).toBeNull();
    expect(readFileSync(logFile, "utf8")).toContain(`stopping keeper ${ours.pid} of ${mountRoot}/ghost`);
  }, TIMEOUT);

  test("namespaced entries follow the reader's own namespaces", async () => {
    await startFs();
    const init = await fakeInit(["--uts", "--net"]);
    const { mountpoint: m } = await registerWithFs("ctr-ns", { ...ids, initPid: init.pid }, { runDir });
    const inside = `nsenter -t ${init.pid} --uts --net`;
    const r = await sh(`
      ${inside} hostname ctr-host
      ${inside} cat ${m}/proc/sys/kernel/hostname
      cat ${m}/proc/sys/kernel/hostname
      hostname
      ${inside} ls ${m}/proc/sys/net/ipv4/conf | tr '\\n' ' '; echo
      ${inside} sh -c 'echo 1 > ${m}/proc/sys/net/ipv4/ip_forward'
      ${inside} cat /proc/sys/net/ipv4/ip_forward
      ${inside} ls ${m}/sys/devices/virtual/net | tr '\n' ' '; echo
      ${inside} cat ${m}/sys/devices/virtual/net/lo/mtu
      ls ${m}/sys/devices/virtual/net | tr '\n' ' '; echo
      ls /sys/devices/virtual/net | tr '\n' ' '; echo
    `);
    expect(r.err).toBe("");
    const [own, hostSeen, host, conf, fwd, ctrNet, loMtu, hostNetThroughUs, hostNet] = r.out.trimEnd().split("\n");
    expect(own).toBe("ctr-host");
    expect(hostSeen).toBe(host);
    expect(conf).toBe("all default lo ");
    expect(fwd).toBe("1");
    // A fresh network namespace has lo only; the host's devices stay out of it.
    expect(ctrNet).toBe("lo ");
    expect(loMtu).toBe("65536");
    expect(hostNetThroughUs!.trim()).toBe(hostNet!.trim());
  }, TIMEOUT);

  test.skipIf(!existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes") || !existsSync("/sys/fs/cgroup/cpuset/cpuset.cpus"))(
    "meminfo and cpuinfo follow the init's v1 memory and cpuset cgroups [requires cgroup v1]",
    async () => {
      await startFs();
      const name = `sysfs-e2e-${process.pid}-${Date.now()}`;
      const mem = `/sys/fs/cgroup/memory/${name}`;
      const cpuset = `/sys/fs/cgroup/cpuset/${name}`;
      const init = await fakeInit();
      try {
        const r0 = await sh(`
          mkdir ${mem} ${cpuset}
          echo ${512 * 1024 * 1024} > ${mem}/memory.limit_in_bytes
          echo 0 > ${cpuset}/cpuset.cpus
          cat /sys/fs/cgroup/cpuset/cpuset.mems > ${cpuset}/cpuset.mems
          echo ${init.pid} > ${mem}/cgroup.procs
          echo ${init.pid} > ${cpuset}/cgroup.procs
        `);
        expect(r0.err).toBe("");
        const { mountpoint: m } = await registerWithFs("ctr-cg", { ...ids, initPid: init.pid }, { runDir });
        const r = await sh(`
          grep MemTotal ${m}/proc/meminfo
          grep -c ^processor ${m}/proc/cpuinfo
          grep -c '^cpu[0-9]' ${m}/proc/stat
          grep -c ^processor /proc/cpuinfo
        `);
        expect(r.err).toBe("");
        const [memTotal, cpus, statCpus, hostCpus] = r.out.trimEnd().split("\n");
        expect(memTotal).toBe("MemTotal:         524288 kB");
        expect(cpus).toBe("1");
        expect(statCpus).toBe("1");
        expect(Number(hostCpus)).toBeGreaterThanOrEqual(1);
      } finally {
        init.kill("SIGKILL");
        await init.exited;
        await sh(`rmdir ${mem} ${cpuset}`);
      }
    },
    TIMEOUT,
  );

  test("24 containers served by one sysbox-fs", async () => {
    await startFs();
    const n = 24;
    const regs = [];
    for (let i = 0; i < n; i++) {
      const init = await fakeInit();
      regs.push(await registerWithFs(`many-${i}`, { ...ids, initPid: init.pid }, { runDir }));
    }
    const script = regs.map((r, i) => `(echo ${i + 1} > ${r.mountpoint}/proc/sys/kernel/panic; cat ${r.mountpoint}/proc/uptime > /dev/null; cat ${r.mountpoint}/proc/sys/kernel/panic > ${dir}/out${i}) &`).join("\n") + "\nwait";
    expect((await sh(script, 30_000)).code).toBe(0);
    for (let i = 0; i < n; i++) expect(readFileSync(join(dir, `out${i}`), "utf8")).toBe(`${i + 1}\n`);
  }, TIMEOUT);
});

const IMAGE = "sysbox-test/debian:bookworm";
const RT = "--runtime=sysbox-runc";

function docker(args: string[]) {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
function ok(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.err}`);
  return r.out;
}
const hasDocker = process.getuid?.() === 0 && docker(["info", "--format", "{{json .Runtimes}}"]).out.includes("sysbox-runc");
const containers: string[] = [];
function ctrName(prefix: string): string {
  const n = `${prefix}-${process.pid}-${containers.length}`;
  containers.push(n);
  return n;
}
afterAll(() => {
  if (containers.length) docker(["rm", "-f", ...containers]);
});

/** "a b c r/t p" of /proc/loadavg. */
function parseLoadavg(line: string): { one: number; running: number; total: number; lastPid: number } {
  const m = /^(\d+\.\d\d) (\d+\.\d\d) (\d+\.\d\d) (\d+)\/(\d+) (\d+)$/.exec(line.trim());
  if (!m) throw new Error(`not a loadavg line: ${JSON.stringify(line)}`);
  return { one: Number(m[1]), running: Number(m[4]), total: Number(m[5]), lastPid: Number(m[6]) };
}

/** The fields after the name on `dev`'s line of a diskstats text. */
function diskFields(text: string, dev: string): number[] | undefined {
  const line = text.split("\n").find((l) => l.trim().split(/\s+/)[2] === dev);
  return line?.trim().split(/\s+/).slice(3).map(Number);
}

/** Bytes written to device `majMin` as the cgroup of process `pid` accounts them (v1 blkio or v2 io.stat). */
function cgroupWriteBytes(pid: string, majMin: string): number {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const v1 = lines.find((l) => l.split(":")[1]?.split(",").includes("blkio"));
  if (v1) {
    const dir = `/sys/fs/cgroup/blkio${v1.split(":")[2]}`;
    for (const f of ["blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive", "blkio.throttle.io_service_bytes_recursive"]) {
      const m = new RegExp(`^${majMin} Write (\\d+)$`, "m").exec(existsSync(`${dir}/${f}`) ? readFileSync(`${dir}/${f}`, "utf8") : "");
      if (m && Number(m[1]) > 0) return Number(m[1]);
    }
    return 0;
  }
  const v2 = lines.find((l) => l.startsWith("0::"))!.slice(3);
  const stat = `/sys/fs/cgroup${v2}/io.stat`;
  const m = new RegExp(`^${majMin} .*\\bwbytes=(\\d+)`, "m").exec(existsSync(stat) ? readFileSync(stat, "utf8") : "");
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!hasDocker)("system containers through dockerd: loadavg, diskstats, /sys [requires root, dockerd with sysbox-runc]", () => {
  test("/proc/loadavg: the kernel's format; running/total and last_pid are this container's tasks only", () => {
    const n = ctrName("fs-loadavg");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "300"]);
    // Shell builtins only, so the tasks at the read are the ones counted after it: sleep and this sh.
    const out = ok(["exec", n, "sh", "-c", 'read l < /proc/loadavg; echo "$l"; set -- /proc/[0-9]*/task/[0-9]*; echo $#; echo $$']);
    const [line, threads, shPid] = out.trim().split("\n");
    const l = parseLoadavg(line!);
    expect(l.total).toBe(Number(threads));
    expect(l.total).toBe(2);
    // The reader counts as running; the newest task is the reading shell.
    expect(l.running).toBe(1);
    expect(l.lastPid).toBe(Number(shPid));
    const host = parseLoadavg(readFileSync("/proc/loadavg", "utf8"));
    expect(host.total).toBeGreaterThan(l.total);
  });

  test("/proc/loadavg: a busy loop raises its container's 1-minute load; an idle container's stays near 0", async () => {
    const busy = ctrName("fs-load-busy");
    const idle = ctrName("fs-load-idle");
    ok(["run", RT, "-d", "--name", busy, IMAGE, "sh", "-c", "while :; do :; done"]);
    ok(["run", RT, "-d", "--name", idle, IMAGE, "sleep", "300"]);
    // Four 5 s samples at least: 1 runnable task gives 0.28 after four.
    await Bun.sleep(21_000);
    const b = parseLoadavg(ok(["exec", busy, "cat", "/proc/loadavg"]));
    const i = parseLoadavg(ok(["exec", idle, "cat", "/proc/loadavg"]));
    expect(b.one).toBeGreaterThanOrEqual(0.25);
    // A sample may catch the exec that reads the file (its stage runs in the
    // container's cgroup, slowly on a loaded host): 0.08 each, decaying. The
    // idle container stays well below the busy one either way.
    expect(i.one).toBeLessThanOrEqual(0.2);
    expect(i.one).toBeLessThan(b.one / 2);
    expect(b.running).toBeGreaterThanOrEqual(2);
  }, 60_000);

  const canLoop = hasDocker && Bun.which("losetup") !== null && Bun.which("mkfs.ext4") !== null;
  test.skipIf(!canLoop)("/proc/diskstats: a fresh container's counters are 0; direct writes show up as its own sectors [requires losetup, mkfs.ext4]", () => {
    const dir = mkdtempSync("/var/tmp/sysbox-diskstats-");
    const img = join(dir, "img");
    const mnt = join(dir, "mnt");
    let loop = "";
    try {
      Bun.spawnSync(["truncate", "-s", "64M", img]);
      loop = Bun.spawnSync(["losetup", "-f", "--show", img]).stdout.toString().trim();
      expect(loop).toMatch(/^\/dev\/loop\d+$/);
      mkdirSync(mnt);
      expect(Bun.spawnSync(["mkfs.ext4", "-q", loop]).exitCode).toBe(0);
      expect(Bun.spawnSync(["mount", loop, mnt]).exitCode).toBe(0);
      const dev = loop.slice("/dev/".length);
      const majMin = readFileSync(`/sys/block/${dev}/dev`, "utf8").trim();
      const n = ctrName("fs-diskstats");
      // A throttle rule far above any speed: on cgroup v1 the kernel counts a device's I/O per cgroup only once one exists.
      ok(["run", RT, "-d", "--name", n, "--device-write-bps", `${loop}:1tb`, "-v", `${mnt}:/data`, IMAGE, "sleep", "300"]);
      const before = ok(["exec", n, "cat", "/proc/diskstats"]);
      expect(diskFields(before, dev)!.every((v) => v === 0)).toBe(true);
      // mkfs and mount wrote to the device: the host's line is not 0.
      expect(diskFields(readFileSync("/proc/diskstats", "utf8"), dev)![6]).toBeGreaterThan(0);
      ok(["exec", n, "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=8", "oflag=direct"]);
      const after = diskFields(ok(["exec", n, "cat", "/proc/diskstats"]), dev)!;
      const accounted = cgroupWriteBytes(ok(["inspect", "-f", "{{.State.Pid}}", n]).trim(), majMin);
      if (accounted === 0) {
        // This kernel does not account the device's I/O per cgroup: the container's view stays 0.
        console.warn(`diskstats: no per-cgroup I/O accounting for ${loop} on this host`);
        expect(after[6]).toBe(0);
      } else {
        expect(after[6]).toBeGreaterThanOrEqual(8 * 1024 * 1024 / 512);
        expect(after[6]).toBe(Math.floor(accounted / 512));
        expect(after[4]).toBeGreaterThan(0);
      }
    } finally {
      docker(["rm", "-f", ...containers.filter((c) => c.startsWith("fs-diskstats"))]);
      Bun.spawnSync(["umount", mnt]);
      if (loop) Bun.spawnSync(["losetup", "-d", loop]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("/sys/devices/virtual/dmi/id/product_uuid: per container, the same after docker restart, on hosts without DMI too", () => {
    const a = ctrName("fs-uuid-a");
    const b = ctrName("fs-uuid-b");
    ok(["run", RT, "-d", "--name", a, IMAGE, "sleep", "300"]);
    ok(["run", RT, "-d", "--name", b, IMAGE, "sleep", "300"]);
    const uuid = (n: string) => ok(["exec", n, "cat", "/sys/devices/virtual/dmi/id/product_uuid"]).trim();
    const ua = uuid(a);
    expect(ua).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ua.slice(-12)).toBe(ok(["inspect", "-f", "{{.Id}}", a]).trim().slice(0, 12));
    expect(uuid(b)).not.toBe(ua);
    ok(["restart", "-t", "1", a]);
    expect(uuid(a)).toBe(ua);
  }, 60_000);

  test("/sys/devices/virtual: net/ lists the container's own interfaces; other entries are the host's, read-only", () => {
    const n = ctrName("fs-sysnet");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "300"]);
    const out = ok(["exec", n, "sh", "-c", [
      "ls /sys/devices/virtual/net | tr '\\n' ' '; echo",
      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '; echo",
      "cat /sys/class/net/lo/mtu",
      "ls /sys/devices/virtual | tr '\\n' ' '; echo",
      "(echo 1280 > /sys/devices/virtual/net/lo/mtu) 2>/dev/null && echo written || echo refused",
      "cat /sys/class/net/lo/mtu",
    ].join("\n")]);
    const [net, procNet, mtu, virtual, write, mtuAfter] = out.split("\n");
    expect(net!.trim()).toBe(procNet!.trim());
    expect(net!.trim().split(" ")).toContain("lo");
    // None of the host's own virtual devices (lo aside) shows inside.
    const hostNet = readdirSync("/sys/devices/virtual/net").filter((d) => d !== "lo");
    for (const d of hostNet) expect(net!.trim().split(" ")).not.toContain(d);
    expect(mtu).toBe("65536");
    expect(virtual!.trim().split(" ").sort()).toEqual([...new Set([...readdirSync("/sys/devices/virtual"), "dmi"])].sort());
    expect(write).toBe("refused");
    expect(mtuAfter).toBe("65536");
  });

  test.skipIf(!existsSync("/sys/module/nf_conntrack/parameters/hashsize"))(
    "nf_conntrack hashsize: readable inside; a smaller write stays in the container, the host's is untouched [requires nf_conntrack]",
    () => {
      const hostValue = readFileSync("/sys/module/nf_conntrack/parameters/hashsize", "utf8").trim();
      const a = ctrName("fs-conntrack-a");
      const b = ctrName("fs-conntrack-b");
      ok(["run", RT, "-d", "--name", a, IMAGE, "sleep", "300"]);
      ok(["run", RT, "-d", "--name", b, IMAGE, "sleep", "300"]);
      const p = "/sys/module/nf_conntrack/parameters";
      expect(ok(["exec", a, "cat", `${p}/hashsize`]).trim()).toBe(hostValue);
      expect(ok(["exec", a, "stat", "-c", "%U %a", `${p}/hashsize`]).trim()).toBe("root 600");
      const smaller = String(Math.max(1, Math.floor(Number(hostValue) / 2)));
      ok(["exec", a, "sh", "-c", `echo ${smaller} > ${p}/hashsize`]);
      expect(ok(["exec", a, "cat", `${p}/hashsize`]).trim()).toBe(smaller);
      expect(ok(["exec", b, "cat", `${p}/hashsize`]).trim()).toBe(hostValue);
      expect(readFileSync(`${p}/hashsize`, "utf8").trim()).toBe(hostValue);
      expect(docker(["exec", a, "sh", "-c", `echo 0 > ${p}/hashsize`]).code).not.toBe(0);
    },
  );
});
