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
