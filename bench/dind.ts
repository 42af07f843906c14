/**
 * Docker inside a system container: latency of an inner `docker run --rm
 * IMAGE true`, against the same command on the host with runc (the inner
 * engine itself uses runc, inside the system container's namespaces).
 */
import type { Row } from "./run.ts";

export const name = "dind";

const SYSCONT = "sysbox-test/syscont:bookworm";
const INNER = "sysbox-test/debian:bookworm";
const RUNS = 8;

function docker(args: string[], stdin?: Uint8Array): number {
  return Bun.spawnSync(["docker", ...args], { stdout: "ignore", stderr: "ignore", ...(stdin ? { stdin } : {}) }).exitCode ?? -1;
}

function timed(argv: string[]): number | undefined {
  const t0 = performance.now();
  return docker(argv) === 0 ? performance.now() - t0 : undefined;
}

export function run(): Row[] {
  if (docker(["image", "inspect", SYSCONT]) !== 0) return [{ label: "inner docker run --rm true", samples: [], skipped: `${SYSCONT} missing` }];
  const n = `bench-dind-${process.pid}`;
  const inner: number[] = [];
  const host: number[] = [];
  try {
    if (docker(["run", "--runtime=sysbox-runc", "-d", "--name", n, SYSCONT, "sleep", "infinity"]) !== 0) {
      return [{ label: "inner docker run --rm true", samples: [], skipped: "system container did not start" }];
    }
    docker(["exec", "-d", n, "sh", "-c", "dockerd > /var/log/dockerd.log 2>&1"]);
    for (let i = 0; i < 60 && docker(["exec", n, "docker", "info"]) !== 0; i++) Bun.sleepSync(500);
    docker(["exec", "-i", n, "docker", "load"], Bun.spawnSync(["docker", "save", INNER]).stdout);
    docker(["exec", n, "docker", "run", "--rm", INNER, "true"]);
    for (let i = 0; i < RUNS; i++) {
      const a = timed(["exec", n, "docker", "run", "--rm", INNER, "true"]);
      if (a !== undefined) inner.push(a);
      const b = timed(["run", "--rm", INNER, "true"]);
      if (b !== undefined) host.push(b);
    }
  } finally {
    docker(["rm", "-f", n]);
  }
  return [
    { label: "inner docker run --rm true (in a system container)", samples: inner },
    { label: "host docker run --rm true (runc)", samples: host, baseline: true },
  ];
}
