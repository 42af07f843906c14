/**
 * /proc/loadavg, emulated, read-only (EACCES at open for writing):
 *
 *   "<1m> <5m> <15m> <running>/<total> <last_pid>\n", as the kernel prints it
 *   1m 5m 15m   the kernel's exponential averages (kernel/sched/loadavg.c:
 *               fixed point, FSHIFT 11, EXP_1/5/15) of the container's active
 *               threads (state R or D) in its cgroup, sampled every 5 s by
 *               one timer in sysbox-fs for all containers (`sampleLoad`);
 *               0.00 until the first sample, and again after a restart
 *   running     threads of the container in state R now; the reader counts
 *               as running (it is, on a native read; here it waits on us)
 *   total       threads of the container now
 *   last_pid    the highest pid among them as the container's pid namespace
 *               numbers it (the kernel's is the last one allocated, which no
 *               file outside that namespace tells)
 *
 * The container's threads are those listed in its cgroup dir and every
 * dir below it (v1 `tasks`, v2 `cgroup.threads`; cgroups threadsOfPid).
 * Without a cgroup of its own, the host's file.
 */
import { threadsOfPid } from "../cgroups/mod.ts";
import { file, type FileSpec, type RequestContext } from "../fuse/mod.ts";
import { containerRoot, type Emulation, type LoadAverages } from "./container.ts";
import { hostCgroups, type Host } from "./host.ts";

export const FSHIFT = 11;
export const FIXED_1 = 1 << FSHIFT;
/** e^(-5s/1min), e^(-5s/5min), e^(-5s/15min) in fixed point (include/linux/sched/loadavg.h). */
export const EXP = [1884, 2014, 2037] as const;
/** The kernel samples every LOAD_FREQ = 5 s (+1 tick). */
export const LOAD_INTERVAL_MS = 5000;

export function newLoadAverages(): LoadAverages {
  return { avg: [0, 0, 0] };
}

/** One step of the kernel's calc_load(): `active` is a task count times FIXED_1. */
export function calcLoad(load: number, exp: number, active: number): number {
  let next = load * exp + active * (FIXED_1 - exp);
  // Rounds up while rising, so a steady load converges to it instead of just below.
  if (active >= load) next += FIXED_1 - 1;
  return Math.floor(next / FIXED_1);
}

/** Folds one sample of `active` tasks into the averages. */
export function updateLoad(state: LoadAverages, active: number): void {
  const a = active * FIXED_1;
  state.avg = [calcLoad(state.avg[0], EXP[0], a), calcLoad(state.avg[1], EXP[1], a), calcLoad(state.avg[2], EXP[2], a)];
}

/** "1.23" for a fixed-point load, rounded as fs/proc/loadavg.c does (+ FIXED_1/200). */
export function formatLoad(load: number): string {
  const x = load + Math.floor(FIXED_1 / 200);
  const int = x >> FSHIFT;
  const frac = ((x & (FIXED_1 - 1)) * 100) >> FSHIFT;
  return `${int}.${String(frac).padStart(2, "0")}`;
}

export function loadavgText(state: LoadAverages, running: number, total: number, lastPid: number): string {
  return `${state.avg.map(formatLoad).join(" ")} ${running}/${total} ${lastPid}\n`;
}

export interface Task {
  /** Host thread id. */
  tid: number;
  /** The state letter of /proc/TID/status ("R", "S", "D"...). */
  state: string;
  /** NSpid: its id in each pid namespace, outermost first. */
  nsPids: number[];
}

/** State and NSpid from /proc/TID/status; undefined when the thread is gone. */
export function parseTaskStatus(tid: number, text: string): Task | undefined {
  const state = /^State:\s+(\S)/m.exec(text)?.[1];
  if (!state) return undefined;
  const ns = /^NSpid:\s+(.*)$/m.exec(text)?.[1];
  return { tid, state, nsPids: ns ? ns.trim().split(/\s+/).map(Number) : [tid] };
}

/** The container's threads with their states, or undefined when it has no cgroup of its own. */
export function containerTasks(host: Host, initPid: number): Task[] | undefined {
  const tids = threadsOfPid(hostCgroups(host), initPid);
  if (!tids) return undefined;
  return [...new Set(tids)].flatMap((tid) => {
    try {
      const t = parseTaskStatus(tid, host.readFile(`/proc/${tid}/status`));
      return t ? [t] : [];
    } catch {
      return [];
    }
  });
}

/** Active tasks for the averages: running or uninterruptible, as the kernel counts them. */
export function activeCount(tasks: readonly Task[]): number {
  return tasks.filter((t) => t.state === "R" || t.state === "D").length;
}

/** One 5-second sample for one container; false when it has no cgroup to sample. */
export function sampleLoad(host: Host, initPid: number, state: LoadAverages): boolean {
  const tasks = containerTasks(host, initPid);
  if (!tasks) return false;
  updateLoad(state, activeCount(tasks));
  return true;
}

/** running/total/last_pid as the reader `callerTid` sees them. */
export function taskFigures(tasks: readonly Task[], initPid: number, callerTid: number): { running: number; total: number; lastPid: number } {
  // The container's pid namespace is the innermost one its init is in.
  const level = (tasks.find((t) => t.tid === initPid)?.nsPids.length ?? 1) - 1;
  let running = 0;
  let lastPid = 0;
  for (const t of tasks) {
    if (t.state === "R" || t.tid === callerTid) running++;
    const p = t.nsPids[level];
    if (t.nsPids.length > level && p !== undefined && p > lastPid) lastPid = p;
  }
  return { running, total: tasks.length, lastPid };
}

export function procLoadavg(em: Emulation): FileSpec {
  return file(
    (ctx: RequestContext) => {
      const tasks = containerTasks(em.host, em.info.initPid);
      if (!tasks) return em.host.readFile("/proc/loadavg");
      const f = taskFigures(tasks, em.info.initPid, ctx.pid);
      return loadavgText(em.load ?? newLoadAverages(), f.running, f.total, f.lastPid);
    },
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
