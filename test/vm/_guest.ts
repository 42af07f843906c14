/**
 * Helpers for the tests that run inside the test VM (scripts/vm-guest.sh):
 * docker and systemctl calls, the guest's preconditions, and the container's
 * cgroup as the systemd driver names it (system.slice/docker-<id>.scope).
 */
import { afterAll } from "bun:test";
import { existsSync, readFileSync } from "node:fs";

export const IMAGE = "sysbox-test/debian:bookworm";
export const SYSCONT = "sysbox-test/syscont:bookworm";
export const BUSYBOX = "sysbox-test/static:busybox";
export const RT = "--runtime=sysbox-runc";
export const MIN = 60_000;

export interface Run {
  code: number;
  out: string;
  err: string;
}

export function run(cmd: string[], opts: { stdin?: Uint8Array | Blob } = {}): Run {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: opts.stdin ?? "ignore" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() + (r.signalCode ? ` (killed by ${r.signalCode})` : "") };
}

export function docker(args: string[], opts: { stdin?: Uint8Array | Blob } = {}): Run {
  return run(["docker", ...args], opts);
}

/** `docker ARGS`, stdout; throws with docker's stderr if it fails. */
export function ok(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.err.trim()}`);
  return r.out;
}

export const isRoot = process.getuid?.() === 0;
const info = isRoot ? docker(["info", "--format", "{{.CgroupDriver}} {{.CgroupVersion}} {{json .Runtimes}}"]) : { code: 1, out: "", err: "" };
/** This is the guest: systemd as PID 1, cgroup v2, Docker with the systemd driver and sysbox-runc. */
export const isGuest =
  isRoot && existsSync("/run/systemd/system") && existsSync("/sys/fs/cgroup/cgroup.controllers") &&
  info.code === 0 && info.out.startsWith("systemd 2 ") && info.out.includes('"sysbox-runc"');

const names: string[] = [];
/** A container name unique to this run; every one is removed after the file's tests. */
export function name(prefix: string): string {
  const n = `${prefix}-${process.pid}-${names.length}`;
  names.push(n);
  return n;
}
afterAll(() => {
  if (names.length) docker(["rm", "-f", ...names]);
});

export function containerId(n: string): string {
  return ok(["inspect", "-f", "{{.Id}}", n]).trim();
}

/** The host cgroup directory of a container started by Docker's systemd driver. */
export function scopeDir(id: string): string {
  return `/sys/fs/cgroup/system.slice/docker-${id}.scope`;
}

export function readCg(id: string, file: string): string {
  return readFileSync(`${scopeDir(id)}/${file}`, "utf8").trim();
}

/** Polls `fn` every `everyMs` until it returns true or `ms` pass; returns its last result. */
export async function waitFor(fn: () => boolean, ms: number, everyMs = 500): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (fn()) return true;
    if (Date.now() >= end) return false;
    await Bun.sleep(everyMs);
  }
}

/** The first line of a uid_map: [inside, outside, size]. */
export function mapping(text: string): number[] {
  return text.trim().split("\n")[0]!.trim().split(/\s+/).map(Number);
}

/** `systemctl is-system-running` inside a container, until it settles (running or degraded). */
export async function systemState(n: string, ms: number): Promise<string> {
  let state = "";
  await waitFor(() => {
    state = docker(["exec", n, "systemctl", "is-system-running"]).out.trim();
    return state === "running" || state === "degraded";
  }, ms, 2000);
  return state;
}
