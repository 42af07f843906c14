/**
 * /proc/cpuinfo, emulated, read-only: only the processors the container may
 * use (its cpuset, and no more than its CFS quota allows), renumbered from 0
 * as LXCFS does. Everything else in each block is the host's. Without a
 * cpuset or quota, the host's file as is.
 */
import { cpusOfPid } from "../cgroups/mod.ts";
import { file, type FileSpec } from "../fuse/mod.ts";
import { cachedText, containerRoot, type Emulation } from "./container.ts";
import { hostCgroups } from "./host.ts";

const PROCESSOR = /^processor\s*:\s*(\d+)\s*$/m;

/** Blocks of the host's cpuinfo: [processor number or undefined, text]. */
function blocks(text: string): Array<[number | undefined, string]> {
  return text
    .split(/\n\n+/)
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const m = PROCESSOR.exec(b);
      return [m ? Number(m[1]) : undefined, b];
    });
}

export function hostCpusOf(cpuinfo: string): number[] {
  return blocks(cpuinfo).flatMap(([n]) => (n === undefined ? [] : [n]));
}

/** The host's cpuinfo reduced to `cpus`, renumbered in that order. */
export function cpuinfoText(hostText: string, cpus: readonly number[]): string {
  const all = blocks(hostText);
  const host = hostCpusOf(hostText);
  if (host.length === cpus.length && host.every((c, i) => c === cpus[i])) return hostText;
  const out: string[] = [];
  cpus.forEach((cpu, i) => {
    const b = all.find(([n]) => n === cpu);
    if (b) out.push(b[1].replace(PROCESSOR, (line) => line.replace(/\d+\s*$/, String(i))));
  });
  for (const [n, b] of all) if (n === undefined) out.push(b);
  return `${out.join("\n\n")}\n\n`;
}

export function procCpuinfo(em: Emulation): FileSpec {
  return file(
    () => cachedText(em, "cpuinfo", () => {
      const hostText = em.host.readFile("/proc/cpuinfo");
      return cpuinfoText(hostText, cpusOfPid(hostCgroups(em.host), em.info.initPid, hostCpusOf(hostText)));
    }),
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
