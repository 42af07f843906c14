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
import { file, type FileSpec } from "../fuse/tree.ts";
import { containerCpus, controllerDirs, parseKeyed, readCg } from "./cgroup_view.ts";
import { containerRoot, type Emulation } from "./container.ts";
import { CLK_TCK, type Host } from "./host.ts";

const CPU_LINE = /^cpu(\d*)\s+(.*)$/;

/** Per-CPU (user, system) ticks of the container, or undefined when the cgroup does not say. */
export function containerCpuTicks(host: Host, pid: number, cpus: readonly number[]): Map<number, [number, number]> | undefined {
  const acct = controllerDirs(host, pid, "cpuacct");
  if (acct && !acct.v2) {
    const all = readCg(host, acct.dirs[0]!, "cpuacct.usage_all");
    if (!all) return undefined;
    const out = new Map<number, [number, number]>();
    for (const line of all.split("\n").slice(1)) {
      const [cpu, user, sys] = line.trim().split(/\s+/).map(Number);
      if (cpu !== undefined && Number.isFinite(cpu) && user !== undefined && sys !== undefined) {
        out.set(cpu, [Math.floor((user * CLK_TCK) / 1e9), Math.floor((sys * CLK_TCK) / 1e9)]);
      }
    }
    return out;
  }
  const cpu = controllerDirs(host, pid, "cpu") ?? controllerDirs(host, pid, "");
  if (cpu?.v2) {
    const st = parseKeyed(readCg(host, cpu.dirs[0]!, "cpu.stat"));
    const user = st.get("user_usec");
    const sys = st.get("system_usec");
    if (user === undefined || sys === undefined || cpus.length === 0) return undefined;
    const per = (us: number) => Math.floor((us * CLK_TCK) / 1e6 / cpus.length);
    return new Map(cpus.map((c) => [c, [per(user), per(sys)]]));
  }
  return undefined;
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
    () => {
      const hostText = em.host.readFile("/proc/stat");
      const hostCpus = hostText.split("\n").flatMap((l) => {
        const m = CPU_LINE.exec(l);
        return m && m[1] !== "" ? [Number(m[1])] : [];
      });
      const cpus = containerCpus(em.host, em.info.initPid, hostCpus);
      return statText(hostText, cpus, containerCpuTicks(em.host, em.info.initPid, cpus));
    },
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
