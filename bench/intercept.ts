/**
 * The cost of syscall interception: a process in new user and mount
 * namespaces times batches of 100 calls before and after it installs the
 * notify filter and registers with an in-process interceptor (the code
 * sysbox-fs runs). Three calls:
 *
 *   remount        mount(MS_REMOUNT) of a tmpfs: trapped, the path read and
 *                  resolved against the caller's mountinfo, then CONTINUE
 *   remount ro     mount(MS_REMOUNT|MS_BIND|MS_RDONLY): trapped, CONTINUE
 *                  decided from the flags alone
 *   getpid         never trapped: what the filter costs everything else
 *
 * Each "trapped" row is compared with its untrapped twin. Needs root.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProbe } from "../internal/sysboxfs/seccomp/_probe.ts";
import { startInterceptServer } from "../internal/sysboxfs/seccomp/server.ts";
import { libseccomp } from "../internal/sys/seccomp.ts";
import type { Row } from "./run.ts";

export const name = "intercept";

/** Calls per operation and phase; samples are batches of 100. */
const N = 1000;

const OPS = {
  remount: "mount(MS_REMOUNT) tmpfs",
  remountReadOnly: "mount(MS_REMOUNT|MS_BIND|MS_RDONLY)",
  getpid: "getpid()",
} as const;

interface Report {
  before: Record<keyof typeof OPS, number[]>;
  after: Record<keyof typeof OPS, number[]>;
}

/** Row plus the group bench/run.ts compares within, where it supports groups. */
type GroupedRow = Row & { group?: string };

export async function run(): Promise<Row[]> {
  const skip = (why: string): Row[] => Object.values(OPS).flatMap((label) => [
    { label: `${label}, no filter (ms/100 calls)`, samples: [], baseline: true, skipped: why, group: label } as GroupedRow,
    { label: `${label}, with the notify filter (ms/100 calls)`, samples: [], skipped: why, group: label } as GroupedRow,
  ]);
  if (process.getuid?.() !== 0) return skip("needs root (new user and mount namespaces)");
  if (!libseccomp.available()) return skip("libseccomp.so.2 is not installed");
  const work = mkdtempSync(join(tmpdir(), "bench-intercept-"));
  const server = await startInterceptServer({ runDir: join(work, "run") });
  try {
    const report = (await runProbe({ mode: "bench", work, runDir: join(work, "run"), containerId: "bench", n: N })) as Report;
    const s = server.stats();
    console.error(`bench: intercept: ${s.notifications} notifications, handled in ${s.meanMicros.toFixed(1)} us on average (longest ${s.maxMicros.toFixed(0)} us)`);
    return (Object.keys(OPS) as Array<keyof typeof OPS>).flatMap((op): GroupedRow[] => [
      { label: `${OPS[op]}, no filter (ms/100 calls)`, samples: report.before[op], baseline: true, group: OPS[op] },
      { label: `${OPS[op]}, with the notify filter (ms/100 calls)`, samples: report.after[op], group: OPS[op] },
    ]);
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}
