/**
 * /proc through sysbox-fs against native /proc: per-read latency of
 * /proc/uptime, /proc/meminfo, /proc/loadavg (a walk of the container's
 * cgroup per read) and /proc/diskstats inside a system container, against the same
 * loop in a runc container (the kernel's own files), and sysbox-fs's CPU time
 * while 20 system containers read in a loop.
 */
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Row } from "./run.ts";

export const name = "procfs";
export const goal = 3;

const IMAGE = "sysbox-test/debian:bookworm";
const READS = 2000;
const RUNS = 3;

function docker(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim() };
}

/** Milliseconds per whole-file read of `file` inside container `n`, by a compiled reader (open, read, close). */
function perReadMs(n: string, file: string): number | undefined {
  const r = docker(["exec", n, "/bench/procread", file, String(READS)]);
  return r.code === 0 ? Number(r.out) / 1000 : undefined;
}

/** Compiles the reader once; it is bind-mounted into both containers. */
function buildReader(dir: string): boolean {
  const r = Bun.spawnSync(["bun", "build", "--compile", join(import.meta.dir, "fixtures", "procread.ts"), "--outfile", join(dir, "procread")], { stdout: "ignore", stderr: "pipe" });
  return r.exitCode === 0;
}

function sysboxFsCpuMs(): number | undefined {
  try {
    const pid = readFileSync("/run/sysbox/sysfs.pid", "utf8").trim();
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

export function run(): Row[] {
  const sc = `bench-procfs-sc-${process.pid}`;
  const rc = `bench-procfs-runc-${process.pid}`;
  const rows: Row[] = [];
  const many: string[] = [];
  const dir = mkdtempSync("/var/tmp/bench-procfs-");
  try {
    if (!buildReader(dir)) return [{ label: "read /proc/uptime (sysbox-fs)", samples: [], skipped: "could not compile the reader" }];
    const vol = ["-v", `${dir}:/bench:ro`];
    if (docker(["run", "--runtime=sysbox-runc", "-d", ...vol, "--name", sc, IMAGE, "sleep", "600"]).code !== 0) {
      return [{ label: "read /proc/uptime (sysbox-fs)", samples: [], skipped: "system container did not start" }];
    }
    docker(["run", "-d", ...vol, "--name", rc, IMAGE, "sleep", "600"]);
    for (const file of ["/proc/uptime", "/proc/meminfo", "/proc/loadavg", "/proc/diskstats"]) {
      const viaFs: number[] = [];
      const native: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const a = perReadMs(sc, file);
        if (a !== undefined) viaFs.push(a);
        const b = perReadMs(rc, file);
        if (b !== undefined) native.push(b);
      }
      rows.push({ label: `read ${file} (sysbox-fs), ms/read`, samples: viaFs, group: file });
      rows.push({ label: `read ${file} (native, runc), ms/read`, samples: native, baseline: true, group: file });
    }
    // 20 containers reading /proc/uptime in a loop for 10 s: sysbox-fs CPU.
    for (let i = 0; i < 20; i++) {
      const n = `bench-procfs-load-${process.pid}-${i}`;
      if (docker(["run", "--runtime=sysbox-runc", "-d", "--name", n, IMAGE, "sh", "-c", "sleep 2; end=$(( $(date +%s) + 10 )); while [ $(date +%s) -lt $end ]; do read l < /proc/uptime; done; sleep 600"]).code === 0) many.push(n);
    }
    const cpu0 = sysboxFsCpuMs();
    const t0 = performance.now();
    Bun.sleepSync(12_000);
    const cpu1 = sysboxFsCpuMs();
    const wall = performance.now() - t0;
    if (cpu0 !== undefined && cpu1 !== undefined) {
      rows.push({ label: `sysbox-fs CPU, ${many.length} containers reading, ms CPU per s`, samples: [((cpu1 - cpu0) / wall) * 1000], group: "cpu" });
    }
  } finally {
    docker(["rm", "-f", sc, rc, ...many]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
