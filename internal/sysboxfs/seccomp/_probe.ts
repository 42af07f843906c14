/**
 * Runs testdata/child.ts as uid 0 of new user and mount namespaces (mapped
 * to HOST_ID), with a connection to the interceptor inherited the way a
 * container's init gets it. Shared by the root test and bench/intercept.ts.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLONE } from "../../sys/flags.ts";
import { close, open, O_FLAGS } from "../../sys/fs.ts";
import { spawnInNamespaces } from "../../ns/mod.ts";
import { connectInterceptor } from "../../intercept/mod.ts";

export const HOST_ID = 100000;
const CHILD = join(import.meta.dir, "testdata", "child.ts");

export interface ProbeOptions {
  mode: "check" | "bench";
  /** A directory for the probe's mounts and report; chowned to HOST_ID. */
  work: string;
  runDir: string;
  containerId: string;
  /** Calls per timed operation (bench), a multiple of 100. */
  n?: number;
  /** Another probe taking the same arguments; default testdata/child.ts. */
  child?: string;
}

/** Starts the probe and resolves with its JSON report once it is gone. */
export async function runProbe(opts: ProbeOptions): Promise<unknown> {
  const base = join(opts.work, opts.containerId);
  const out = join(opts.work, `${opts.containerId}.json`);
  mkdirSync(base);
  chownSync(base, HOST_ID, HOST_ID);
  chownSync(opts.work, HOST_ID, HOST_ID);
  const sock = connectInterceptor(opts.runDir);
  const exe = open(process.execPath, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  let pid: number;
  try {
    ({ pid } = spawnInNamespaces({
      flags: CLONE.NEWUSER | CLONE.NEWNS,
      execFd: exe,
      argv: ["bun", opts.child ?? CHILD, opts.mode, String(sock), base, opts.containerId, String(opts.n ?? 100), out],
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", `HOME=${opts.work}`, "BUN_RUNTIME_TRANSPILER_CACHE_PATH=0"],
      setIds: true,
      onReady: (p) => {
        writeFileSync(`/proc/${p}/uid_map`, `0 ${HOST_ID} 65536`);
        writeFileSync(`/proc/${p}/gid_map`, `0 ${HOST_ID} 65536`);
      },
    }));
  } finally {
    close(exe);
    close(sock);
  }
  // The probe is not our child (the namespace stage forks twice): wait for it to go.
  for (let i = 0; i < 6000 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(10);
  if (!existsSync(out)) throw new Error(`the ${opts.mode} probe of ${opts.containerId} wrote no report`);
  return JSON.parse(readFileSync(out, "utf8"));
}
