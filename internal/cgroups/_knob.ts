/** Shared plumbing for the v1 and v2 resource writers. */
import * as posix from "node:path/posix";
import { SysError } from "../sys/errno.ts";
import { ioOf, readOptional, type CgroupIo, type IoOptions } from "./_io.ts";
import type { Cgroup } from "./cgroup.ts";

export interface ApplyContext {
  cg: Cgroup;
  io: CgroupIo;
  warnings: string[];
}

export function applyContext(cg: Cgroup, warnings: string[], opts: IoOptions): ApplyContext {
  return { cg, io: ioOf(opts), warnings };
}

export function warn(ctx: ApplyContext, resource: string, message: string): void {
  ctx.warnings.push(`${resource}: ${message}`);
}

export function writeKnob(ctx: ApplyContext, dir: string, file: string, value: string | number): void {
  ctx.io.writeFile(posix.join(dir, file), String(value));
}

export function readKnob(ctx: ApplyContext, dir: string, file: string): string | undefined {
  return readOptional(ctx.io, posix.join(dir, file))?.trim();
}

export function hasKnob(ctx: ApplyContext, dir: string, file: string): boolean {
  return ctx.io.exists(posix.join(dir, file));
}

export function isCode(e: unknown, ...codes: string[]): e is SysError {
  return e instanceof SysError && codes.includes(e.code);
}

/** A kernel "unlimited" value ("max", or v1's huge page-counter maximum) or a number. */
export function parseUint(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === "max") return UINT64_MAX;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/**
 * "Unlimited" as a JS number. 2^64 itself is exactly representable, unlike
 * 2^64-1; `eventsJson` prints it as 18446744073709551615, as runc does.
 */
export const UINT64_MAX = 2 ** 64;

/** `key value` lines (cpu.stat, memory.stat, cgroup.events) into a map. */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = parseUint(v);
  }
  return out;
}
