/**
 * Root-test probe, started as uid 0 of a new user and mount namespace:
 * `bun child.ts SOCKFD BASE CONTAINERID N OUT`. Builds a small mount tree
 * under BASE, times N remounts before and after, registers with the
 * interceptor over the inherited SOCKFD the way a container's init does, and
 * writes what each probe got ("ok" or an errno name) to OUT as JSON.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { isSysError } from "../../sys/errno.ts";
import { MS } from "../../sys/flags.ts";
import { mount, umount2 } from "../../sys/mount.ts";
import { getpid } from "../../sys/proc.ts";
import { closeQuietly, initialMounts, installNotifyFilter, sendNotifyFd } from "../client.ts";
import { MountView } from "../view.ts";

const [sockArg, base, containerId, nArg, out] = process.argv.slice(2);
if (!sockArg || !base || !containerId || !nArg || !out) throw new TypeError("usage: child.ts SOCKFD BASE CONTAINERID N OUT");
const N = Number(nArg);

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

function time(fn: () => void): number {
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < N; i++) fn();
  return (Bun.nanoseconds() - t0) / N / 1000;
}

mount(null, "/", null, MS.REC | MS.PRIVATE);
mount("t", base, "tmpfs", 0, "size=1m");
for (const d of ["data", "ro", "proc", "mnt", "mnt2", "mnt3"]) mkdirSync(`${base}/${d}`);
mount(`${base}/data`, `${base}/ro`, null, MS.BIND);
mount(null, `${base}/ro`, null, MS.BIND | MS.REMOUNT | MS.RDONLY);
mount("p", `${base}/proc`, "tmpfs", 0, "size=1m");
mount("m", `${base}/mnt`, "tmpfs", 0, "size=1m");
symlinkSync(`${base}/ro`, `${base}/link`);

const remountMnt = () => mount(null, `${base}/mnt`, null, MS.REMOUNT, "size=1m");
const untrapped = () => getpid();
const before = { remountMicros: time(remountMnt), getpidMicros: time(untrapped) };

// What the runtime registers, with this probe's own tmpfs standing in for /proc.
const view = MountView.parse(readFileSync("/proc/self/mountinfo", "utf8"));
const idAt = (p: string) => view.entries.findLast((e) => e.mountPoint === p)!.id;
const mounts = { ...initialMounts(), proc: idAt(`${base}/proc`) };

const fd = installNotifyFilter();
sendNotifyFd(Number(sockArg), fd, { containerId, mounts });
closeQuietly(fd);
closeQuietly(Number(sockArg));

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
  roStillRo: readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === `${base}/ro`)?.split(" ")[5],
};
const after = { remountMicros: time(remountMnt), getpidMicros: time(untrapped) };
writeFileSync(out, JSON.stringify({ results, before, after, mounts }));
