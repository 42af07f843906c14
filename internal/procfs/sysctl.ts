/**
 * The policies of emulated /proc/sys entries, shared by the proc_sys_*.ts
 * tables:
 *
 *   container   the container reads its own value, seeded from the host's on
 *               first read; a write is validated and stays in the container.
 *   max         as container, and a write larger than the host's value also
 *               raises the host's (a limit the container needs in force);
 *               the host's value is never lowered.
 *   read-only   the host's value; writes are refused (EACCES at open).
 *
 * Values are parsed the way proc_dointvec does: whitespace-separated
 * integers, a trailing newline is fine, trailing garbage is EINVAL.
 */
import { file, type FileSpec, FuseError } from "../fuse/mod.ts";
import { ERRNO } from "../sys/errno.ts";
import { containerRoot, type Emulation } from "./container.ts";

export type Policy = "container" | "max" | "read-only";

/** Turns written text into the stored value (given the current one), or throws EINVAL. */
export type Parser = (text: string, current: string) => string;

export interface SysctlSpec {
  /** Path under /proc/sys, e.g. "kernel/panic". */
  path: string;
  policy: Policy;
  parse?: Parser;
  /** Permission bits; default the host file's. */
  mode?: number;
}

const einval = (why: string) => new FuseError(ERRNO.EINVAL, why);

function tokens(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

function toInt(tok: string): bigint {
  if (!/^[+-]?\d+$/.test(tok)) throw einval(`not an integer: ${JSON.stringify(tok)}`);
  return BigInt(tok);
}

/** One integer in [min, max] (inclusive); extra values after it are ignored, as procfs does. */
export function intRange(min: bigint | number, max: bigint | number): Parser {
  const lo = BigInt(min);
  const hi = BigInt(max);
  return (text) => {
    const [first] = tokens(text);
    if (first === undefined) throw einval("empty value");
    const n = toInt(first);
    if (n < lo || n > hi) throw einval(`${n} is outside ${lo}..${hi}`);
    return n.toString();
  };
}

export const INT_MIN = -(2n ** 31n);
export const INT_MAX = 2n ** 31n - 1n;
export const ULONG_MAX = 2n ** 64n - 1n;

/** Any C int. */
export const anyInt: Parser = intRange(INT_MIN, INT_MAX);

/**
 * `n` integers, tab-separated when read (kernel.printk). A write may give
 * fewer; the rest keep their current values.
 */
export function intVector(n: number, min: bigint | number = INT_MIN, max: bigint | number = INT_MAX): Parser {
  const one = intRange(min, max);
  return (text, current) => {
    const given = tokens(text);
    if (given.length === 0) throw einval("empty value");
    const cur = tokens(current);
    const out = Array.from({ length: n }, (_, i) => (i < given.length ? one(given[i]!, "") : (cur[i] ?? "0")));
    return out.join("\t");
  };
}

/** How a host value is stored: vectors tab-separated, like the kernel prints them. */
function normalize(hostText: string): string {
  return tokens(hostText).join("\t");
}

function hostPath(spec: SysctlSpec): string {
  return `/proc/sys/${spec.path}`;
}

/** The host's current value, or undefined when it cannot be read. */
function readHost(em: Emulation, spec: SysctlSpec): string | undefined {
  try {
    return normalize(em.host.readFile(hostPath(spec)));
  } catch (e) {
    em.log?.warn(`${em.info.id}: reading host ${hostPath(spec)}: ${(e as Error).message}`);
    return undefined;
  }
}

/** The container's value; the first read seeds it from the host's and saves it. */
export function sysctlValue(em: Emulation, spec: SysctlSpec): string {
  if (spec.policy === "read-only") {
    const v = readHost(em, spec);
    if (v === undefined) throw new FuseError(ERRNO.EIO);
    return v;
  }
  const known = em.state.sysctls[spec.path];
  if (known !== undefined) return known;
  const seeded = readHost(em, spec);
  if (seeded === undefined) throw new FuseError(ERRNO.EIO);
  em.state.sysctls[spec.path] = seeded;
  em.changed();
  return seeded;
}

/** Applies a write to the container's value (and, for "max", maybe the host's). */
export function writeSysctl(em: Emulation, spec: SysctlSpec, text: string): void {
  const current = sysctlValue(em, spec);
  const value = (spec.parse ?? anyInt)(text, current);
  if (spec.policy === "max") raiseHost(em, spec, value);
  if (em.state.sysctls[spec.path] !== value) {
    em.state.sysctls[spec.path] = value;
    em.changed();
  }
}

function raiseHost(em: Emulation, spec: SysctlSpec, value: string): void {
  const host = readHost(em, spec);
  if (host === undefined || !/^\d+$/.test(host) || !/^\d+$/.test(value)) return;
  if (BigInt(value) <= BigInt(host)) return;
  try {
    em.host.writeFile(hostPath(spec), value);
    em.log?.debug(`${em.info.id}: raised host ${spec.path} from ${host} to ${value}`);
  } catch (e) {
    // The container keeps its value either way; the host limit just stays lower.
    em.log?.warn(`${em.info.id}: raising host ${spec.path} to ${value}: ${(e as Error).message}`);
  }
}

/** The FUSE file for one emulated entry, owned by the container's root. */
export function sysctlFile(em: Emulation, spec: SysctlSpec): FileSpec {
  const owner = containerRoot(em.info);
  const mode = spec.mode ?? em.host.stat(hostPath(spec))?.mode ?? (spec.policy === "read-only" ? 0o444 : 0o644);
  const read = () => `${sysctlValue(em, spec)}\n`;
  if (spec.policy === "read-only") return file(read, { ...owner, mode: mode & ~0o222 });
  return file(read, {
    ...owner,
    mode,
    write: (_ctx, data, offset) => {
      // procfs ignores writes past the start (sysctl_writes_strict=1).
      if (offset > 0) return;
      writeSysctl(em, spec, new TextDecoder().decode(data));
    },
  });
}
