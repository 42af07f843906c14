/**
 * Cost of keeping inner images: `docker stop` of a system container whose
 * inner Docker holds the ~120 MB test image, with the copy into the upper
 * dir (a plain container) and without it (a --rm container, where it is skipped).
 */
import type { Row } from "./run.ts";

export const name = "innerimages";

const SYSCONT = "sysbox-test/syscont:bookworm";
const INNER = "sysbox-test/debian:bookworm";
const RUNS = 2;

function docker(args: string[], stdin?: Uint8Array): number {
  return Bun.spawnSync(["docker", ...args], { stdout: "ignore", stderr: "ignore", ...(stdin ? { stdin } : {}) }).exitCode ?? -1;
}

function stopWithInnerImage(n: string, rm: boolean, image: Uint8Array): number | undefined {
  if (docker(["run", "--runtime=sysbox-runc", "-d", ...(rm ? ["--rm"] : []), "--name", n, SYSCONT, "sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]) !== 0) return undefined;
  docker(["exec", "-d", n, "sh", "-c", "dockerd > /var/log/dockerd.log 2>&1"]);
  for (let i = 0; i < 60 && docker(["exec", n, "docker", "info"]) !== 0; i++) Bun.sleepSync(500);
  if (docker(["exec", "-i", n, "docker", "load"], image) !== 0) return undefined;
  const t0 = performance.now();
  docker(["stop", "-t", "5", n]);
  const ms = performance.now() - t0;
  docker(["rm", "-f", n]);
  return ms;
}

export function run(): Row[] {
  if (docker(["image", "inspect", SYSCONT]) !== 0) return [{ label: "docker stop, inner images copied", samples: [], skipped: `${SYSCONT} missing` }];
  const image = Bun.spawnSync(["docker", "save", INNER]).stdout;
  const copy: number[] = [];
  const noCopy: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = stopWithInnerImage(`bench-inner-${process.pid}-c${i}`, false, image);
    if (a !== undefined) copy.push(a);
    const b = stopWithInnerImage(`bench-inner-${process.pid}-r${i}`, true, image);
    if (b !== undefined) noCopy.push(b);
  }
  return [
    { label: "docker stop, inner image copied out", samples: copy },
    { label: "docker stop --rm container (no copy)", samples: noCopy, baseline: true },
  ];
}
