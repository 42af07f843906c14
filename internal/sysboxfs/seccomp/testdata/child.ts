/**
 * Probe for the root test and the benchmark, started as uid 0 of a new user
 * and mount namespace: `bun child.ts check|bench SOCKFD BASE CONTAINERID N OUT`.
 * Builds a small mount tree under BASE, registers with the interceptor over
 * the inherited SOCKFD the way a container's init does, and writes to OUT as
 * JSON what each probe got ("ok" or an errno name) (check), or the time of
 * each batch of 100 calls before and after the filter went in (bench).
 */
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { isSysError } from "../../../sys/errno.ts";
import { MS } from "../../../sys/flags.ts";
import { mount, umount2 } from "../../../sys/mount.ts";
import { getpid, sysinfoRaw } from "../../../sys/proc.ts";
import { makedev, mknod } from "../../../sys/fs.ts";
import { closeQuietly, initialMounts, installNotifyFilter, MountView, sendNotifyFd } from "../../../intercept/mod.ts";

const [mode, sockArg, base, containerId, nArg, out] = process.argv.slice(2);
if (!mode || !sockArg || !base || !containerId || !nArg || !out) throw new TypeError("usage: child.ts check|bench SOCKFD BASE CONTAINERID N OUT");
const N = Number(nArg);
const BATCH = 100;

function probe(fn: () => void): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (isSysError(e)) return e.code;
    throw e;
  }
}

/** Runs a command; returns its exit code and stderr (spawned children inherit the filter). */
function run(argv: string[]): { code: number; stderr: string } {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stderr: r.stderr.toString().trim() };
}

/** Milliseconds per batch of BATCH calls, N calls in all. */
function time(fn: () => void): number[] {
  for (let i = 0; i < 10; i++) fn();
  const batches: number[] = [];
  for (let b = 0; b < N / BATCH; b++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < BATCH; i++) fn();
    batches.push((Bun.nanoseconds() - t0) / 1e6);
  }
  return batches;
}

mount(null, "/", null, MS.REC | MS.PRIVATE);
mount("t", base, "tmpfs", 0, "size=1m");
for (const d of ["data", "ro", "proc", "mnt", "mnt2", "mnt3"]) mkdirSync(`${base}/${d}`);
mount(`${base}/data`, `${base}/ro`, null, MS.BIND);
mount(null, `${base}/ro`, null, MS.BIND | MS.REMOUNT | MS.RDONLY);
mount("p", `${base}/proc`, "tmpfs", 0, "size=1m");
mount("m", `${base}/mnt`, "tmpfs", 0, "size=1m");
symlinkSync(`${base}/ro`, `${base}/link`);

// A remount the policy must resolve the path of; one it decides from the flags; a syscall never trapped.
const ops = {
  remount: () => mount(null, `${base}/mnt`, null, MS.REMOUNT, "size=1m"),
  remountReadOnly: () => mount(null, `${base}/ro`, null, MS.REMOUNT | MS.BIND | MS.RDONLY),
  getpid: () => void getpid(),
};
const measure = () => Object.fromEntries(Object.entries(ops).map(([k, fn]) => [k, time(fn)]));
const before = mode === "bench" ? measure() : {};

// What the runtime registers, with this probe's own tmpfs standing in for /proc.
const view = MountView.parse(readFileSync("/proc/self/mountinfo", "utf8"));
const idAt = (p: string) => view.entries.findLast((e) => e.mountPoint === p)!.id;
const mounts = { ...initialMounts(), proc: idAt(`${base}/proc`) };

const fd = installNotifyFilter();
sendNotifyFd(Number(sockArg), fd, { containerId, mounts });
closeQuietly(fd);
closeQuietly(Number(sockArg));

if (mode === "bench") {
  writeFileSync(out, JSON.stringify({ before, after: measure() }));
  process.exit(0);
}

const results = {
  newTmpfs: probe(() => mount("x", `${base}/mnt2`, "tmpfs", 0, "size=1m")),
  remountRoRw: probe(() => mount(null, `${base}/ro`, null, MS.REMOUNT | MS.BIND)),
  remountRoRwViaLink: probe(() => mount(null, `${base}/link`, null, MS.REMOUNT | MS.BIND)),
  remountRoRo: probe(() => mount(null, `${base}/ro`, null, MS.REMOUNT | MS.BIND | MS.RDONLY)),
  umountProc: probe(() => umount2(`${base}/proc`)),
  umountProcDetach: probe(() => umount2(`${base}/proc`, 2)),
  umountTmpfs: probe(() => umount2(`${base}/mnt2`)),
  cmdMount: run(["mount", "-t", "tmpfs", "y", `${base}/mnt3`]),
  cmdRemountRw: run(["mount", "-o", "remount,bind,rw", `${base}/ro`]),
  cmdUmountProc: run(["umount", `${base}/proc`]),
  mknodNull: probe(() => mknod(`${base}/mnt/null`, 0o020666, makedev(1, 3))),
  mknodNullRdev: (() => { try { const st = statSync(`${base}/mnt/null`); return `${st.isCharacterDevice()} ${st.rdev === statSync("/dev/null").rdev}`; } catch (e) { return String(e); } })(),
  mknodWhiteout: probe(() => mknod(`${base}/mnt/w`, 0o020000, makedev(0, 0))),
  mknodDisk: probe(() => mknod(`${base}/mnt/sda`, 0o060660, makedev(8, 0))),
  mknodFuse: probe(() => mknod(`${base}/mnt/fuse`, 0o020600, makedev(10, 229))),
  sysinfo: (() => { const dv = new DataView(sysinfoRaw().buffer); return { uptime: Number(dv.getBigUint64(0, true)), totalram: Number(dv.getBigUint64(32, true)), memUnit: dv.getUint32(104, true) }; })(),
  roStillRo: readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === `${base}/ro`)?.split(" ")[5],
};
writeFileSync(out, JSON.stringify({ results, mounts }));
