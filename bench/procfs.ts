/**
 * /proc reads through sysbox-fs against its peers, in one run on the same
 * files (uptime, meminfo, cpuinfo, stat, loadavg, diskstats):
 *
 *   kernel     the host's own /proc
 *   sysbox-fs  compiled from this tree as scripts/build.ts does (into the
 *              scratch dir), started here with its own run dir and mount
 *              root, each container registered as sysbox-runc registers one
 *   LXCFS      Debian's lxcfs (apt-installed if missing), in the
 *              foreground on a scratch mount point, loadavg virtualized
 *   C floor    fixtures/fusefloor.c: libfuse3's low-level API, one thread,
 *              direct_io, each file a snapshot fixed at start
 *
 * A "container" is a process that is init of its own pid namespace, in
 * cgroups of its own (a memory limit, cpu, cpuacct, blkio, pids), so both
 * servers compute their figures as for a real one. Readers
 * (fixtures/procread.c, compiled static) run in that pid namespace and
 * cgroups: open, read to EOF, close.
 *
 * Then the CPU cost: READERS containers (default 50), one reader each
 * looping over uptime and meminfo for SECONDS, against sysbox-fs (each
 * container its own mount, as in production) and against LXCFS (one
 * mount); each server's CPU (utime+stime of /proc/PID/stat) per wall second,
 * the reads done, and CPU per read.
 *
 *   PROCFS_READS (2000) PROCFS_RUNS (5) PROCFS_READERS (50)
 *   PROCFS_SECONDS (10) PROCFS_PACES_US (0,100000: readers never pause, then
 *   pause 100 ms after each round, so both servers get the same demand)
 *
 * Needs root and cgroup v1 controllers or cgroup v2; no docker.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerWithFs } from "../internal/ipc/mod.ts";
import { buildCommand, gitCommit } from "../scripts/build.ts";
import type { Row } from "./run.ts";

export const name = "procfs";
export const goals = { "cpu, no pause": 1, "cpu, paced": 1, "cpu per read, no pause": 1, "cpu per read, paced": 1 };

const ROOT = join(import.meta.dir, "..");
const FILES = ["uptime", "meminfo", "cpuinfo", "stat", "loadavg", "diskstats"] as const;
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const READS = env("PROCFS_READS", 2000);
const RUNS = env("PROCFS_RUNS", 5);
const READERS = env("PROCFS_READERS", 50);
const SECONDS = env("PROCFS_SECONDS", 10);
const PACES_US = (process.env.PROCFS_PACES_US ?? "0,100000").split(",").map(Number);
const MEMORY_LIMIT = 512 * 1024 * 1024;

function sh(argv: string[], opts: { cwd?: string } = {}): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", ...opts });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}

/** Installs what is missing of the Debian packages the peers come from. */
function ensurePackages(): string | undefined {
  const want = [["lxcfs", "/usr/bin/lxcfs"], ["libfuse3-dev", "/usr/include/fuse3/fuse_lowlevel.h"], ["pkg-config", "/usr/bin/pkg-config"], ["gcc", "/usr/bin/gcc"]];
  const missing = want.filter(([, f]) => !existsSync(f!)).map(([p]) => p!);
  if (missing.length === 0) return undefined;
  console.error(`bench procfs: apt-get install ${missing.join(" ")}`);
  const r = sh(["apt-get", "install", "-y", "--no-install-recommends", ...missing]);
  return r.code === 0 ? undefined : `apt-get install ${missing.join(" ")} failed: ${r.err.split("\n").slice(-2).join(" ")}`;
}

function buildTools(dir: string): string | undefined {
  const fx = join(import.meta.dir, "fixtures");
  const r1 = sh(["gcc", "-O2", "-static", "-o", join(dir, "procread"), join(fx, "procread.c")]);
  if (r1.code !== 0) return `procread.c: ${r1.err}`;
  const flags = sh(["pkg-config", "--cflags", "--libs", "fuse3"]).out.split(/\s+/).filter(Boolean);
  const r2 = sh(["gcc", "-O2", "-o", join(dir, "fusefloor"), join(fx, "fusefloor.c"), ...flags]);
  if (r2.code !== 0) return `fusefloor.c: ${r2.err}`;
  // The same compile as scripts/build.ts, into the scratch dir: build/ stays whatever it was.
  const argv = buildCommand(ROOT, "sysbox-fs", gitCommit(ROOT));
  argv[argv.indexOf("--outfile") + 1] = join(dir, "sysbox-fs");
  const r3 = sh(argv, { cwd: ROOT });
  if (r3.code !== 0) return `building sysbox-fs: ${r3.err || r3.out}`;
  return undefined;
}

function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === path);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`bench procfs: ${what} within ${ms} ms`);
    await Bun.sleep(20);
  }
}

/** CPU seconds (user+system, all threads) of a process so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

// ------------------------------------------------------------ containers

/** v1 controllers to place a container in (those sysbox-fs and LXCFS read), or [""] on cgroup v2. */
function controllers(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return [""];
  return ["memory", "cpu", "cpuacct", "blkio", "pids"].filter((c) => existsSync(`/sys/fs/cgroup/${c}/tasks`));
}

interface Container {
  id: string;
  /** Host pid of the init of its pid namespace. */
  init: number;
  /** Its cgroup dirs. */
  dirs: string[];
  holder: Bun.Subprocess;
}

async function startContainer(tag: string, i: number): Promise<Container> {
  const dirs = controllers().map((c) => join("/sys/fs/cgroup", c, tag, `c${i}`));
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    for (const f of ["memory.limit_in_bytes", "memory.max"]) if (existsSync(join(d, f))) writeFileSync(join(d, f), String(MEMORY_LIMIT));
  }
  // The shell joins the cgroups, then becomes unshare, whose child is the namespace's init.
  const join_ = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join("; ");
  const holder = Bun.spawn(["sh", "-c", `${join_}; exec unshare --pid --fork sleep infinity`], { stdout: "ignore", stderr: "inherit" });
  let init = 0;
  await until("the container's init to start", () => {
    try {
      init = Number(readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, "utf8").trim().split(" ")[0]);
      return init > 0 && readFileSync(`/proc/${init}/cmdline`, "utf8").startsWith("sleep");
    } catch {
      return false;
    }
  });
  return { id: `${tag}-c${i}`, init, dirs, holder };
}

function stopContainer(c: Container): void {
  try {
    process.kill(c.init, "SIGKILL");
  } catch {}
  c.holder.kill("SIGKILL");
}

/** argv run inside the container's pid namespace and cgroups. */
function inContainer(c: Container, argv: string[]): string[] {
  const join_ = c.dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join("; ");
  return ["sh", "-c", `${join_}; exec nsenter -t ${c.init} -p -- "$@"`, "sh", ...argv];
}

// ------------------------------------------------------------ servers

interface Server {
  label: string;
  pid: number;
  /** Where container c's files are. */
  dirOf(c: Container): string;
  stop(): Promise<void>;
}

async function stopProc(p: Bun.Subprocess, mounts: string[]): Promise<void> {
  p.kill("SIGTERM");
  const killed = await Promise.race([p.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
  if (!killed) p.kill("SIGKILL");
  for (const m of mounts) if (isMounted(m)) sh(["umount", "-l", m]);
}

async function startSysboxFs(dir: string): Promise<Server & { register(c: Container): Promise<void> }> {
  const runDir = join(dir, "fs-run");
  const mountRoot = join(dir, "fs-mnt");
  const p = Bun.spawn([join(dir, "sysbox-fs"), "--run-dir", runDir, "--mountpoint", mountRoot, "--no-keepers", "--log", join(dir, "sysbox-fs.log")], { stdout: "ignore", stderr: "inherit" });
  await until("sysbox-fs to listen", () => existsSync(join(runDir, "sysfs.sock")));
  const mounts: string[] = [];
  return {
    label: "sysbox-fs",
    pid: p.pid,
    dirOf: (c) => join(mountRoot, c.id, "proc"),
    async register(c) {
      const r = await registerWithFs(c.id, { initPid: c.init, uidFirst: 0, uidSize: 65536, gidFirst: 0, gidSize: 65536 }, { runDir });
      mounts.push(r.mountpoint);
    },
    stop: () => stopProc(p, mounts),
  };
}

async function startLxcfs(dir: string): Promise<Server> {
  const mnt = join(dir, "lxcfs");
  mkdirSync(mnt);
  const p = Bun.spawn(["lxcfs", "-f", "-l", "-p", join(dir, "lxcfs.pid"), mnt], { stdout: "ignore", stderr: "ignore" });
  await until("lxcfs to mount", () => isMounted(mnt) && existsSync(join(mnt, "proc", "uptime")));
  return { label: "LXCFS", pid: p.pid, dirOf: () => join(mnt, "proc"), stop: () => stopProc(p, [mnt]) };
}

async function startFloor(dir: string): Promise<Server> {
  const mnt = join(dir, "floor");
  mkdirSync(mnt);
  const p = Bun.spawn([join(dir, "fusefloor"), mnt, ...FILES.map((f) => `${f}=/proc/${f}`)], { stdout: "ignore", stderr: "inherit" });
  await until("the C floor to mount", () => isMounted(mnt));
  return { label: "C floor", pid: p.pid, dirOf: () => mnt, stop: () => stopProc(p, [mnt]) };
}

// ------------------------------------------------------------ measurements

function perReadUs(dir: string, c: Container, path: string): number | undefined {
  const r = sh(inContainer(c, [join(dir, "procread"), "lat", path, String(READS)]));
  if (r.code !== 0) {
    console.error(`bench procfs: reading ${path}: ${r.err}`);
    return undefined;
  }
  return Number(r.out);
}

/** Each reader loops over uptime and meminfo of its container; the server's CPU per wall second and the reads done. */
async function cpuUnderLoad(dir: string, server: Server, cs: Container[], paceUs: number): Promise<{ cpuPerSec: number; readsPerSec: number }> {
  const readers = cs.map((c) => {
    const d = server.dirOf(c);
    return Bun.spawn(inContainer(c, [join(dir, "procread"), "loop", String(SECONDS), String(paceUs), `${d}/uptime`, `${d}/meminfo`]), { stdout: "pipe", stderr: "inherit" });
  });
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const counts = await Promise.all(readers.map(async (r) => Number((await new Response(r.stdout).text()).trim()) || 0));
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  return { cpuPerSec: cpu / wall, readsPerSec: counts.reduce((a, b) => a + b, 0) / wall };
}

export async function run(): Promise<Row[]> {
  const skip = (why: string): Row[] => [{ label: "procfs", samples: [], skipped: why }];
  if (process.getuid?.() !== 0) return skip("needs root");
  const why = ensurePackages();
  if (why) return skip(why);
  const dir = mkdtempSync("/var/tmp/bench-procfs-");
  const tag = `bench-procfs-${process.pid}`;
  const containers: Container[] = [];
  const servers: Server[] = [];
  try {
    const bad = buildTools(dir);
    if (bad) return skip(bad);
    const fs = await startSysboxFs(dir);
    servers.push(fs);
    const lx = await startLxcfs(dir);
    servers.push(lx);
    const floor = await startFloor(dir);
    servers.push(floor);
    const c0 = await startContainer(tag, 0);
    containers.push(c0);
    await fs.register(c0);

    const rows: Row[] = [];
    const targets: [string, (f: string) => string][] = [
      ["kernel", (f) => `/proc/${f}`],
      ["sysbox-fs", (f) => `${fs.dirOf(c0)}/${f}`],
      ["LXCFS", (f) => `${lx.dirOf(c0)}/${f}`],
      ["C floor", (f) => `${floor.dirOf(c0)}/${f}`],
    ];
    for (const file of FILES) {
      const samples: number[][] = targets.map(() => []);
      for (let r = 0; r < RUNS; r++) {
        const order = targets.map((_, j) => j);
        if (r % 2) order.reverse();
        for (const j of order) {
          const us = perReadUs(dir, c0, targets[j]![1](file));
          if (us !== undefined) samples[j]!.push(us);
        }
      }
      targets.forEach(([who], j) => {
        const row: Row = { label: `${file}: ${who}`, samples: samples[j]!, group: file, unit: "µs/read" };
        if (who === "kernel") row.baseline = true;
        if (who === "sysbox-fs") row.versus = [{ label: `${file}: LXCFS`, goal: 1 }, { label: `${file}: C floor`, goal: 1.5 }];
        rows.push(row);
      });
    }

    for (let i = 1; i < READERS; i++) containers.push(await startContainer(tag, i));
    for (const c of containers.slice(1)) await fs.register(c);
    for (const pace of PACES_US) {
      const load: Record<string, { cpuPerSec: number; readsPerSec: number }> = {};
      for (const s of [fs, lx]) load[s.label] = await cpuUnderLoad(dir, s, containers, pace);
      const what = `${containers.length} readers${pace ? ` pausing ${pace / 1000} ms` : ""}`;
      const mode = pace ? "paced" : "no pause";
      for (const s of [lx, fs]) {
        const m = load[s.label]!;
        const base = s === lx;
        rows.push({ label: `CPU, ${what}: ${s.label}`, samples: [m.cpuPerSec], group: `cpu, ${mode}`, unit: "CPU s/s", baseline: base });
        rows.push({ label: `reads done, ${what}: ${s.label}`, samples: [m.readsPerSec], group: `reads, ${mode}`, unit: "reads/s", baseline: base });
        rows.push({ label: `CPU per read, ${what}: ${s.label}`, samples: [(m.cpuPerSec / m.readsPerSec) * 1e6], group: `cpu per read, ${mode}`, unit: "µs CPU", baseline: base });
      }
    }
    return rows;
  } finally {
    for (const s of servers.reverse()) await s.stop();
    for (const c of containers) stopContainer(c);
    await Promise.all(containers.map((c) => c.holder.exited));
    await Bun.sleep(200);
    for (const c of containers) for (const d of c.dirs) {
      try {
        rmdirSync(d);
      } catch {}
    }
    for (const c of controllers()) {
      try {
        rmdirSync(join("/sys/fs/cgroup", c, tag));
      } catch {}
    }
    if (!readFileSync("/proc/self/mountinfo", "utf8").includes(dir)) rmSync(dir, { recursive: true, force: true });
    else console.error(`bench procfs: ${dir} still has mounts; left in place`);
  }
}
