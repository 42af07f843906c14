/**
 * Compiles the three executables into build/ with `bun build --compile`, in
 * parallel, stamping the git commit into internal/version through a define.
 *
 *   bun scripts/build.ts [--only NAME[,NAME]]...   (NAME: sysbox-runc, sysbox-mgr, sysbox-fs)
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const TARGETS = ["sysbox-runc", "sysbox-mgr", "sysbox-fs"] as const;
export type Target = (typeof TARGETS)[number];

/**
 * --minify shrinks the embedded source a little; --bytecode embeds
 * precompiled bytecode so start-up skips parsing (it needs --format=esm for
 * our ES modules). Measure with `bun bench/run.ts startup` before changing.
 */
export const COMPILE_FLAGS = ["--compile", "--minify", "--bytecode", "--format=esm"];

export class BuildError extends Error {
  override name = "BuildError";
}

export function parseArgs(argv: string[]): Target[] {
  const wanted: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--only" && argv[i + 1] !== undefined) {
      wanted.push(...(argv[++i] as string).split(","));
    } else if (arg.startsWith("--only=")) {
      wanted.push(...arg.slice("--only=".length).split(","));
    } else if (arg === "-h" || arg === "--help") {
      throw new BuildError(`usage: bun scripts/build.ts [--only ${TARGETS.join("|")}]...`);
    } else {
      throw new BuildError(`unexpected argument ${JSON.stringify(arg)}; usage: bun scripts/build.ts [--only NAME]...`);
    }
  }
  if (wanted.length === 0) return [...TARGETS];
  for (const name of wanted) {
    if (!(TARGETS as readonly string[]).includes(name)) {
      throw new BuildError(`unknown target ${JSON.stringify(name)}; expected one of ${TARGETS.join(", ")}`);
    }
  }
  return TARGETS.filter((t) => wanted.includes(t));
}

/** `git rev-parse --short HEAD` in root, or "unknown" outside a git checkout. */
export function gitCommit(root: string): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root, stderr: "ignore" });
    const sha = r.stdout.toString().trim();
    return r.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(sha) ? sha : "unknown";
  } catch {
    return "unknown"; // no git binary
  }
}

export function entryOf(root: string, target: Target): string {
  return join(root, "cmd", target, "main.ts");
}

/**
 * Worker threads a target starts: `bun build --compile` embeds only what its
 * entry imports, so each Worker module is an entry point of its own (it
 * lands at /$bunfs/root/<path from the project root>).
 */
export const WORKER_ENTRIES: Partial<Record<Target, readonly string[]>> = {
  "sysbox-fs": ["internal/sysboxfs/seccomp/worker.ts"],
};

/** The full `bun build` command line for one target. */
export function buildCommand(root: string, target: Target, commit: string): string[] {
  return [
    process.execPath,
    "build",
    ...COMPILE_FLAGS,
    "--define",
    `SYSBOX_COMMIT=${JSON.stringify(commit)}`,
    entryOf(root, target),
    ...(WORKER_ENTRIES[target] ?? []).map((w) => join(root, w)),
    "--outfile",
    join(root, "build", target),
  ];
}

interface Built {
  target: Target;
  ok: boolean;
  seconds: number;
  bytes: number;
  output: string;
}

async function buildOne(root: string, target: Target, commit: string): Promise<Built> {
  const t0 = performance.now();
  const proc = Bun.spawn(buildCommand(root, target, commit), { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const out = join(root, "build", target);
  const ok = code === 0 && existsSync(out);
  return {
    target,
    ok,
    seconds: (performance.now() - t0) / 1000,
    bytes: ok ? statSync(out).size : 0,
    output: `${stdout}${stderr}`.trim(),
  };
}

export async function build(root: string, targets: Target[]): Promise<boolean> {
  const missing = targets.filter((t) => !existsSync(entryOf(root, t)));
  if (missing.length > 0) {
    const list = missing.map((t) => relative(root, entryOf(root, t))).join(", ");
    throw new BuildError(`missing entry point(s): ${list}`);
  }
  mkdirSync(join(root, "build"), { recursive: true });
  const commit = gitCommit(root);
  console.log(`building ${targets.join(", ")} (commit ${commit})`);
  const t0 = performance.now();
  const results = await Promise.all(targets.map((t) => buildOne(root, t, commit)));
  for (const r of results) {
    const size = r.ok ? `${(r.bytes / 1e6).toFixed(1)} MB` : "FAILED";
    console.log(`  build/${r.target.padEnd(12)} ${size.padStart(9)}  ${r.seconds.toFixed(1)}s`);
    if (!r.ok) console.log(r.output.replace(/^/gm, "    "));
  }
  const failed = results.filter((r) => !r.ok).length;
  const total = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(failed === 0 ? `built ${results.length} in ${total}s` : `${failed} of ${results.length} failed (${total}s)`);
  return failed === 0;
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  try {
    const ok = await build(root, parseArgs(process.argv.slice(2)));
    process.exitCode = ok ? 0 : 1;
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`build: ${e.message}`);
    process.exitCode = 1;
  }
}
