/**
 * Start-up cost: `build/sysbox-runc --version` against `runc --version`.
 * Docker runs the runtime several times per container, so its start-up time
 * adds up; the goal is to stay within 1.5x of runc.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { interleave, type Row } from "./run.ts";

export const name = "startup";
export const goal = 1.5;

const RUNS = 50;
const WARMUP = 5;

function findRunc(): string | undefined {
  return Bun.which("runc") ?? ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
}

export function run(): Row[] {
  const sysbox = join(import.meta.dir, "..", "build", "sysbox-runc");
  const runc = findRunc();
  const commands: { label: string; argv: string[]; baseline?: boolean }[] = [];
  const skipped: Row[] = [];

  if (existsSync(sysbox)) commands.push({ label: "sysbox-runc --version", argv: [sysbox, "--version"] });
  else skipped.push({ label: "sysbox-runc --version", samples: [], skipped: "build/sysbox-runc missing (run `bun run build`)" });
  if (runc) commands.push({ label: "runc --version", argv: [runc, "--version"], baseline: true });
  else skipped.push({ label: "runc --version", samples: [], baseline: true, skipped: "runc not found (it comes with docker.io)" });

  const samples = interleave(commands.map((c) => c.argv), RUNS, WARMUP);
  return [
    ...commands.map((c, i) => ({ label: c.label, samples: samples[i] ?? [], baseline: c.baseline })),
    ...skipped,
  ];
}
