/**
 * Pure parsers for the text of cgroupfs files, one of each, used by the
 * runtime's stats and by sysbox-fs's emulated /proc files alike. No I/O:
 * recorded files from v1 and v2 hosts are tested directly.
 */

/**
 * "Unlimited" as a JS number. 2^64 itself is exactly representable, unlike
 * 2^64-1; `eventsJson` prints it as 18446744073709551615, as runc does.
 */
export const UINT64_MAX = 2 ** 64;

/** A counter or limit: "max" is UINT64_MAX; absent, negative or unparsable text is 0. */
export function parseUint(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === "max") return UINT64_MAX;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** `key value` lines (cpu.stat, memory.stat, cgroup.events) into a record; values as `parseUint`. */
export function parseKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = parseUint(v);
  }
  return out;
}

/** v1 reports "no limit" as a huge page-aligned number; anything past 2^60 counts as none. */
const NO_LIMIT = 2 ** 60;

/** A limit file (memory.max, memory.limit_in_bytes...) in bytes; undefined for "max", absent, unparsable or unlimited. */
export function parseLimit(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || t === "max" || !/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= NO_LIMIT ? undefined : n;
}

/** One counter of one device: blkio's `8:0 Read 4096` or one `key=value` of io.stat. */
export interface BlkioEntry {
  major: number;
  minor: number;
  /** blkio: Read, Write, Sync, Async, Discard ("" on files without one); io.stat: the key (rbytes, wios...). */
  op: string;
  value: number;
}

function device(text: string | undefined): [number, number] | undefined {
  const mm = text?.split(":");
  return mm?.length === 2 ? [Number(mm[0]), Number(mm[1])] : undefined;
}

/** v1 blkio files (`8:0 Read 4096`, or `8:0 4096`), in file order; the trailing `Total N` line is dropped. */
export function parseBlkio(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    const dev = device(f[0]);
    if (f.length < 2 || dev === undefined) continue;
    const [op, value] = f.length === 3 ? [f[1]!, f[2]!] : ["", f[1]!];
    out.push({ major: dev[0], minor: dev[1], op, value: parseUint(value) });
  }
  return out;
}

/** cgroup2 io.stat (`8:0 rbytes=1 wbytes=2 rios=3 ...`): one entry per key, in file order. */
export function parseIoStat(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const mm = device(dev);
    if (mm === undefined) continue;
    for (const kv of kvs) {
      const [k, v] = kv.split("=");
      if (!k || v === undefined) continue;
      out.push({ major: mm[0], minor: mm[1], op: k, value: parseUint(v) });
    }
  }
  return out;
}

/** Entries by "major:minor", then by op; a later duplicate wins. */
export function byDevice(entries: readonly BlkioEntry[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const e of entries) {
    const key = `${e.major}:${e.minor}`;
    let ops = out.get(key);
    if (!ops) out.set(key, (ops = new Map()));
    ops.set(e.op, e.value);
  }
  return out;
}

/**
 * A cpu or memory-node list ("0-3,5,7-8") in order. Lenient by default (a
 * part that does not parse is skipped, as for cpuset files the kernel
 * wrote); `strict` throws RangeError instead, for lists a user wrote.
 */
export function parseCpuList(text: string | undefined, opts: { strict?: boolean } = {}): number[] {
  const list = text ?? "";
  const invalid = (what: string) => new RangeError(`Invalid cpuset ${what}${JSON.stringify(list)}`);
  const out: number[] = [];
  for (const raw of list.trim().split(",")) {
    // A user may write "0 - 3"; the kernel never does.
    const part = opts.strict ? raw.trim().replace(/\s*-\s*/, "-") : raw.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) {
      if (opts.strict && part !== "") throw invalid("");
      continue;
    }
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (opts.strict) {
      for (const n of [a, b]) if (n > 0xffff) throw new RangeError(`cpuset ${JSON.stringify(list)}: CPU ${n} is out of range`);
      if (a > b) throw new RangeError(`Invalid cpuset range ${JSON.stringify(part)} in ${JSON.stringify(list)}`);
    }
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** cpuacct.usage_all: a header, then `cpu user system` lines in nanoseconds. */
export function parseUsageAll(text: string | undefined): Array<{ cpu: number; user: number; system: number }> {
  const out: Array<{ cpu: number; user: number; system: number }> = [];
  for (const line of (text ?? "").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    out.push({ cpu: Number(f[0]), user: Number(f[1]), system: Number(f[2]) });
  }
  return out;
}

/** cgroup.procs, tasks, cgroup.threads: one id per line. */
export function parseIds(text: string | undefined): number[] {
  return (text ?? "").split("\n").flatMap((l) => (/^\d+$/.test(l.trim()) ? [Number(l.trim())] : []));
}
