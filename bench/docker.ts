/**
 * Container start-up end to end: `docker run --rm IMAGE true` with
 * --runtime=sysbox-runc against runc (goal: 1.15x), and create + start +
 * delete of one OCI bundle called directly, build/sysbox-runc against runc
 * (goal: 1.0x). The bundle's rootfs is the image, exported; its config is
 * `runc spec` with terminal off and args ["true"]. Both runtimes get their
 * own --root so neither sees the other's state.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Row } from "./run.ts";

export const name = "docker";
export const goals = { "docker run": 1.15, lifecycle: 1.0 };

const IMAGE = "sysbox-test/debian:bookworm";
const DOCKER_RUNS = 10;
const LIFECYCLE_RUNS = 20;
const WARMUP = 2;

function sh(argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

function must(argv: string[]): string {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.err.trim()}`);
  return r.out.trim();
}

function findRunc(): string | undefined {
  return Bun.which("runc") ?? ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
}

/**
 * Runs argv with stdio discarded: a container's init inherits `create`'s
 * stdio, so a pipe would stay open until it exits. Errors go to `log`
 * (runc's --log, which both runtimes take); a failure quotes its last line.
 */
function runStep(argv: string[], log?: string): void {
  // Without a log (docker), stderr is a pipe: the client's children do not inherit it.
  const r = Bun.spawnSync(argv, { stdio: ["ignore", "ignore", log ? "ignore" : "pipe"] });
  if (r.exitCode === 0) return;
  let why = r.stderr?.toString().trim() ?? "";
  try {
    if (log) why = readFileSync(log, "utf8").trim().split("\n").filter((l) => l.includes('"error"')).pop() ?? "";
  } catch {
    // No log: the exit code is all there is.
  }
  throw new Error(`${argv.join(" ")} exited ${r.exitCode}${why ? `: ${why}` : ""}`);
}

/** Wall time of `steps` run one after another, in ms; throws on the first failure. */
function timeSteps(steps: string[][]): number {
  const t0 = performance.now();
  for (const argv of steps) runStep(argv, logOf(argv));
  return performance.now() - t0;
}

/** The --log FILE of a runtime command line, if any. */
function logOf(argv: string[]): string | undefined {
  const i = argv.indexOf("--log");
  return i === -1 ? undefined : argv[i + 1];
}

/**
 * `WARMUP` rounds, then `runs` rounds of every candidate, the order
 * alternating each round; `make(i)` gives candidate j's steps for round i.
 */
function interleaveSteps(candidates: Array<(i: number) => string[][]>, runs: number): number[][] {
  let round = 0;
  for (let w = 0; w < WARMUP; w++) for (const make of candidates) timeSteps(make(round++));
  const samples: number[][] = candidates.map(() => []);
  for (let i = 0; i < runs; i++) {
    const order = candidates.map((_, j) => j);
    if (i % 2) order.reverse();
    for (const j of order) samples[j]?.push(timeSteps(candidates[j]!(round++)));
  }
  return samples;
}

function dockerRows(): Row[] {
  const argv = (rt: string) => ["docker", "run", "--rm", `--runtime=${rt}`, IMAGE, "true"];
  const [ours = [], theirs = []] = interleaveSteps([() => [argv("sysbox-runc")], () => [argv("runc")]], DOCKER_RUNS);
  return [
    { group: "docker run", label: "docker run --rm (sysbox-runc) true", samples: ours },
    { group: "docker run", label: "docker run --rm (runc) true", samples: theirs, baseline: true },
  ];
}

/** An OCI bundle of IMAGE: `docker export` into rootfs/, `runc spec` edited to run `true` without a terminal. */
function makeBundle(runc: string, dir: string): string {
  const bundle = join(dir, "bundle");
  const rootfs = join(bundle, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  const cid = must(["docker", "create", IMAGE, "true"]);
  try {
    must(["sh", "-c", `docker export "$1" | tar -x -C "$2"`, "sh", cid, rootfs]);
  } finally {
    sh(["docker", "rm", "-f", cid]);
  }
  must([runc, "spec", "--bundle", bundle]);
  const configPath = join(bundle, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  config.process.terminal = false;
  config.process.args = ["true"];
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return bundle;
}

/** sysbox-mgr answers on its socket when it runs; without it sysbox-runc needs --no-sysbox-mgr. */
function mgrFlags(sysbox: string, bundle: string, root: string): string[] {
  const id = `bench-probe-${process.pid}`;
  const r = Bun.spawnSync([sysbox, "--root", root, "create", "--bundle", bundle, id], { stdio: ["ignore", "ignore", "ignore"] });
  Bun.spawnSync([sysbox, "--root", root, "delete", "--force", id], { stdio: ["ignore", "ignore", "ignore"] });
  return r.exitCode === 0 ? [] : ["--no-sysbox-mgr"];
}

function lifecycleRows(sysbox: string, runc: string): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "bench-docker-"));
  const roots = { sysbox: join(dir, "root-sysbox"), runc: join(dir, "root-runc") };
  const made: Array<[string, string, string]> = [];
  try {
    const bundle = makeBundle(runc, dir);
    const extra = mgrFlags(sysbox, bundle, roots.sysbox);
    const steps = (bin: string, root: string, globals: string[]) => (i: number) => {
      const id = `bench-${process.pid}-${i}`;
      made.push([bin, root, id]);
      const g = [bin, ...globals, "--root", root, "--log", join(dir, `${root === roots.sysbox ? "sysbox-runc" : "runc"}.log`), "--log-format", "json"];
      return [
        [...g, "create", "--bundle", bundle, id],
        [...g, "start", id],
        // `true` may still be running: --force, for both runtimes alike.
        [...g, "delete", "--force", id],
      ];
    };
    const [ours = [], theirs = []] = interleaveSteps(
      [steps(sysbox, roots.sysbox, extra), steps(runc, roots.runc, [])],
      LIFECYCLE_RUNS,
    );
    const label = (bin: string) => `${bin} create+start+delete${bin === "sysbox-runc" && extra.length ? " (--no-sysbox-mgr)" : ""}`;
    return [
      { group: "lifecycle", label: label("sysbox-runc"), samples: ours },
      { group: "lifecycle", label: label("runc"), samples: theirs, baseline: true },
    ];
  } finally {
    // A failed round leaves its container behind: remove whatever still exists.
    for (const [bin, root, id] of made) Bun.spawnSync([bin, "--root", root, "delete", "--force", id], { stdio: ["ignore", "ignore", "ignore"] });
    rmSync(dir, { recursive: true, force: true });
  }
}

export function run(): Row[] {
  const sysbox = join(import.meta.dir, "..", "build", "sysbox-runc");
  const runc = findRunc();
  const skip = (group: string, label: string, why: string, baseline = false): Row => ({ group, label, samples: [], skipped: why, baseline });
  let why = "";
  if (process.getuid?.() !== 0) why = "needs root";
  else if (!runc) why = "runc not found (it comes with docker.io)";
  else if (sh(["docker", "info", "--format", "{{json .Runtimes}}"]).out.indexOf('"sysbox-runc"') === -1) {
    why = "docker is unreachable or has no sysbox-runc runtime (scripts/dockerd.sh start)";
  } else if (sh(["docker", "image", "inspect", IMAGE]).code !== 0) why = `image ${IMAGE} missing (scripts/images.sh)`;
  const rows: Row[] = [];
  // A failure skips its group with the reason; the other group still runs.
  const attempt = (group: string, labels: [string, string], w: string, measure: () => Row[]) => {
    if (!w) {
      try {
        return rows.push(...measure());
      } catch (e) {
        w = `failed: ${(e as Error).message.split("\n")[0]}`;
      }
    }
    rows.push(skip(group, labels[0], w), skip(group, labels[1], w, true));
  };
  attempt("docker run", ["docker run --rm (sysbox-runc) true", "docker run --rm (runc) true"], why, dockerRows);
  attempt("lifecycle", ["sysbox-runc create+start+delete", "runc create+start+delete"],
    why || (existsSync(sysbox) ? "" : "build/sysbox-runc missing (run `bun run build`)"), () => lifecycleRows(sysbox, runc!));
  return rows;
}
