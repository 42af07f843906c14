/**
 * systemd in a system container: time from `docker run -d` to
 * `systemctl is-system-running` answering "running" (or "degraded"), and the
 * time `docker stop` takes to shut it down. No runc baseline: under runc this
 * image's systemd cannot boot without --privileged.
 */
import type { Row } from "./run.ts";

export const name = "systemd";

const IMAGE = "sysbox-test/syscont:bookworm";
const RUNS = 3;

function docker(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim() };
}

export function run(): Row[] {
  if (docker(["image", "inspect", IMAGE]).code !== 0) {
    return [{ label: "docker run -> systemd running", samples: [], skipped: `${IMAGE} missing (scripts/images.sh syscont)` }];
  }
  const boot: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const n = `bench-systemd-${process.pid}-${i}`;
    const t0 = performance.now();
    if (docker(["run", "--runtime=sysbox-runc", "-d", "--name", n, IMAGE]).code !== 0) break;
    let state = "";
    while (performance.now() - t0 < 60_000 && state !== "running" && state !== "degraded") {
      state = docker(["exec", n, "systemctl", "is-system-running"]).out;
      if (state !== "running" && state !== "degraded") Bun.sleepSync(100);
    }
    if (state === "running" || state === "degraded") boot.push(performance.now() - t0);
    const t1 = performance.now();
    docker(["stop", n]);
    stop.push(performance.now() - t1);
    docker(["rm", "-f", n]);
  }
  return [
    { label: "docker run -> systemd running", samples: boot },
    { label: "docker stop (systemd container)", samples: stop },
  ];
}
