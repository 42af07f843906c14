/**
 * /proc/diskstats, emulated, read-only (EACCES at open for writing), as
 * LXCFS does it: the host's lines, in the host's order and with as many
 * fields as the host's kernel prints, each device's counters replaced by
 * the container's own from its cgroup (the dir of its init, init.scope
 * pruned; the kernel's figures there include every cgroup below it):
 *
 *   cgroup v2   io.stat: rios/wios/dios -> reads/writes/discards completed,
 *               rbytes/wbytes/dbytes / 512 -> sectors; v2 has no merge or
 *               time counters, so those fields are 0
 *   cgroup v1   blkio.*_recursive files, per device from the first family
 *               that lists it: the CFQ-era io_serviced/io_merged/
 *               io_service_bytes/io_wait_time/io_service_time, then
 *               bfq.io_*, then throttle.io_* (recent kernels count a
 *               device's I/O per cgroup only under BFQ or once it has a
 *               throttle rule, so other devices read 0). Reads/writes/
 *               discards from io_serviced, merges from io_merged, sectors
 *               from io_service_bytes / 512, a direction's ms from its
 *               wait + service time, "ms doing I/O" from the service times
 *               and the weighted ms from both
 *   always 0    I/Os in progress, flushes; partitions (the kernel accounts
 *               cgroups per whole disk) and devices the container never used
 *
 * When the cgroup has no I/O accounting at all (no io.stat, none of the
 * blkio files) or the container has no cgroup of its own, the host's file.
 */
import { ioOfPid, type BlkioFamilyCounters, type PidIo } from "../cgroups/mod.ts";
import { file, type FileSpec } from "../fuse/mod.ts";
import { cachedText, containerRoot, type Emulation } from "./container.ts";
import { hostCgroups } from "./host.ts";

/** The counters after "major minor name", in the kernel's order (Documentation/admin-guide/iostats.rst). */
export const DISKSTATS_FIELDS = [
  "reads", "readsMerged", "readSectors", "readMs",
  "writes", "writesMerged", "writeSectors", "writeMs",
  "inFlight", "ioMs", "weightedMs",
  "discards", "discardsMerged", "discardSectors", "discardMs",
  "flushes", "flushMs",
] as const;

export type DiskField = (typeof DISKSTATS_FIELDS)[number];
export type DiskCounters = Partial<Record<DiskField, number>>;

/** Counters by "major:minor". */
export type DeviceCounters = Map<string, DiskCounters>;

const SECTOR = 512;
const NS_PER_MS = 1e6;

/** v2 io.stat counters ("major:minor" -> key -> value) as diskstats fields. */
export function countersFromIoStat(ioStat: Map<string, Map<string, number>>): DeviceCounters {
  const out: DeviceCounters = new Map();
  for (const [dev, s] of ioStat) {
    const get = (k: string) => s.get(k) ?? 0;
    out.set(dev, {
      reads: get("rios"), readSectors: Math.floor(get("rbytes") / SECTOR),
      writes: get("wios"), writeSectors: Math.floor(get("wbytes") / SECTOR),
      discards: get("dios"), discardSectors: Math.floor(get("dbytes") / SECTOR),
    });
  }
  return out;
}

function v1Counters(p: BlkioFamilyCounters, dev: string): DiskCounters {
  const op = (k: keyof BlkioFamilyCounters, o: string) => p[k].get(dev)?.get(o) ?? 0;
  const ms = (o: string) => Math.floor((op("waitTime", o) + op("serviceTime", o)) / NS_PER_MS);
  const readMs = ms("Read");
  const writeMs = ms("Write");
  return {
    reads: op("serviced", "Read"), readsMerged: op("merged", "Read"), readSectors: Math.floor(op("bytes", "Read") / SECTOR), readMs,
    writes: op("serviced", "Write"), writesMerged: op("merged", "Write"), writeSectors: Math.floor(op("bytes", "Write") / SECTOR), writeMs,
    ioMs: Math.floor((op("serviceTime", "Read") + op("serviceTime", "Write")) / NS_PER_MS),
    weightedMs: readMs + writeMs,
    discards: op("serviced", "Discard"), discardsMerged: op("merged", "Discard"),
    discardSectors: Math.floor(op("bytes", "Discard") / SECTOR), discardMs: ms("Discard"),
  };
}

/** Per device, the counters of the first family (in order of preference) that lists it. */
export function countersFromV1(families: readonly BlkioFamilyCounters[]): DeviceCounters {
  const out: DeviceCounters = new Map();
  for (const p of families) {
    for (const dev of p.serviced.keys()) if (!out.has(dev)) out.set(dev, v1Counters(p, dev));
  }
  return out;
}

const LINE = /^(\s*(\d+)\s+(\d+)\s+\S+)((?:\s+\d+)+)\s*$/;

/** The host's text with each device's counters replaced by `counters` (0 for devices it lacks). */
export function diskstatsText(hostText: string, counters: DeviceCounters): string {
  return hostText
    .split("\n")
    .map((line) => {
      const m = LINE.exec(line);
      if (!m) return line;
      const n = m[4]!.trim().split(/\s+/).length;
      const c = counters.get(`${m[2]}:${m[3]}`) ?? {};
      const values = Array.from({ length: n }, (_, i) => {
        const name = DISKSTATS_FIELDS[i];
        return name === undefined ? 0 : (c[name] ?? 0);
      });
      return `${m[1]} ${values.join(" ")}`;
    })
    .join("\n");
}

/** The container's counters, or undefined when its cgroup accounts no I/O (or it has none). */
export function diskCounters(io: PidIo | undefined): DeviceCounters | undefined {
  if (!io) return undefined;
  return io.v2 ? countersFromIoStat(io.ioStat) : countersFromV1(io.families);
}

export function procDiskstats(em: Emulation): FileSpec {
  return file(
    () => cachedText(em, "diskstats", () => {
      const hostText = em.host.readFile("/proc/diskstats");
      const counters = diskCounters(ioOfPid(hostCgroups(em.host), em.info.initPid));
      return counters ? diskstatsText(hostText, counters) : hostText;
    }),
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
