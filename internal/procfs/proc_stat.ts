/**
 * /proc/stat, emulated, read-only:
 *
 *   cpuN lines   only the container's CPUs (cpuset, capped by its quota),
 *                renumbered from 0; user/system are the container's own time
 *                when the cgroup reports it (v1 cpuacct.usage_all per CPU;
 *                v2 cpu.stat totals spread evenly), the rest of each CPU's
 *                host total shows as idle
 *   cpu line     the sum of the cpuN lines shown
 *   other lines  the host's (btime must stay: ps computes start times from it)
 */
import { cpusOfPid, cpuTimeOfPid, type PidCpuTime } from "../cgroups/mod.ts";
import { file, type FileSpec } from "../fuse/mod.ts";
import { cachedText, containerRoot, type Emulation } from "./container.ts";
import { CLK_TCK, hostCgroups } from "./host.ts";

const CPU_LINE = /^cpu(\d*)\s+(.*)$/;

/** Per-CPU (user, system) ticks of the container, or undefined when its cgroup does not say. */
export function cpuTicks(time: PidCpuTime | undefined, cpus: readonly number[]): Map<number, [number, number]> | undefined {
  if (!time) return undefined;
  if ("perCpuNs" in time) {
    const ticks = (ns: number) => Math.floor((ns * CLK_TCK) / 1e9);
    return new Map([...time.perCpuNs].map(([cpu, t]) => [cpu, [ticks(t.user), ticks(t.system)]]));
  }
  if (cpus.length === 0) return undefined;
  // v2 has totals only: spread evenly over the CPUs shown.
  const per = (us: number) => Math.floor((us * CLK_TCK) / 1e6 / cpus.length);
  return new Map(cpus.map((c) => [c, [per(time.totalUsec.user), per(time.totalUsec.system)]]));
}

export function statText(hostText: string, cpus: readonly number[], ticks: Map<number, [number, number]> | undefined): string {
  const lines = hostText.split("\n");
  const perCpu = new Map<number, number[]>();
  for (const l of lines) {
    const m = CPU_LINE.exec(l);
    if (m && m[1] !== "") perCpu.set(Number(m[1]), m[2]!.trim().split(/\s+/).map(Number));
  }
  const shown = cpus.filter((c) => perCpu.has(c)).map((c) => {
    const host = perCpu.get(c)!;
    const t = ticks?.get(c);
    if (!t) return host;
    const total = host.reduce((a, b) => a + b, 0);
    const fields = host.map(() => 0);
    fields[0] = t[0];
    fields[2] = t[1];
    fields[3] = Math.max(0, total - t[0] - t[1]);
    return fields;
  });
  const width = Math.max(0, ...shown.map((f) => f.length));
  const sum = Array.from({ length: width }, (_, i) => shown.reduce((a, f) => a + (f[i] ?? 0), 0));
  const out: string[] = [];
  let cpuDone = false;
  for (const l of lines) {
    const m = CPU_LINE.exec(l);
    if (!m) {
      out.push(l);
      continue;
    }
    if (cpuDone) continue;
    cpuDone = true;
    out.push(`cpu  ${sum.join(" ")}`);
    shown.forEach((f, i) => out.push(`cpu${i} ${f.join(" ")}`));
  }
  return out.join("\n");
}

export function procStat(em: Emulation): FileSpec {
  return file(
    () => cachedText(em, "stat", () => {
      const hostText = em.host.readFile("/proc/stat");
      const hostCpus = hostText.split("\n").flatMap((l) => {
        const m = CPU_LINE.exec(l);
        return m && m[1] !== "" ? [Number(m[1])] : [];
      });
      const cg = hostCgroups(em.host);
      const cpus = cpusOfPid(cg, em.info.initPid, hostCpus);
      return statText(hostText, cpus, cpuTicks(cpuTimeOfPid(cg, em.info.initPid), cpus));
    }),
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
