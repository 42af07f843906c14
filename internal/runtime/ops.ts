/** `pause`, `resume`, `update`, `events`, `ps` and `list` output, and `spec`. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeze, thaw, applyResources, stats, eventsStats, eventsJson, oomEvents, oomKillCount, setUnitResources } from "../cgroups/mod.ts";
import { parseResources } from "../oci/mod.ts";
import { loadState, type ContainerState } from "./state.ts";
import { withContainerLock } from "./lock.ts";
import { statusOf } from "./status.ts";
import { reopenCgroup } from "./cgroup.ts";
import { defaultSpec } from "./specgen.ts";
import type { Logger } from "../log/mod.ts";
import { syncInnerImagesOut } from "./syscont.ts";

function cgroupOrThrow(st: ContainerState) {
  if (!st.cgroupPath) throw new Error(`container ${st.id} has no cgroup`);
  return reopenCgroup(st.cgroupPath);
}

export async function pauseContainer(root: string, id: string, log: Logger): Promise<void> {
  await withContainerLock(root, id, () => pauseLocked(root, id, log));
}

async function pauseLocked(root: string, id: string, log: Logger): Promise<void> {
  const st = loadState(root, id);
  const status = statusOf(root, st);
  if (status !== "running" && status !== "created") throw new Error(`container not running`);
  await freeze(cgroupOrThrow(st));
  // `docker commit` pauses first: the frozen inner engines' stores go into the snapshot.
  await syncInnerImagesOut(id, st.stores ?? [], st.upperDir, log, { stopping: false });
}

export async function resumeContainer(root: string, id: string): Promise<void> {
  await withContainerLock(root, id, async () => {
    const st = loadState(root, id);
    if (statusOf(root, st) !== "paused") throw new Error("container not paused");
    await thaw(cgroupOrThrow(st));
  });
}

/** Reads LinuxResources JSON from --resources (a file or "-" for stdin) and/or the per-knob flags. */
export async function updateContainer(root: string, id: string, flags: Record<string, unknown>, log: Logger): Promise<void> {
  await withContainerLock(root, id, () => updateLocked(root, id, flags, log));
}

function updateLocked(root: string, id: string, flags: Record<string, unknown>, log: Logger): void {
  const st = loadState(root, id);
  if (statusOf(root, st) === "stopped") throw new Error("container not running");
  let res: Record<string, any> = {};
  const src = flags.resources;
  if (typeof src === "string") {
    const text = src === "-" ? readFileSync(0, "utf8") : readFileSync(src, "utf8");
    res = parseResources(text, src === "-" ? "resources (stdin)" : src) as Record<string, any>;
  }
  const num = (k: string) => (typeof flags[k] === "string" ? Number(flags[k]) : undefined);
  const set = (section: string, key: string, v: number | string | undefined) => {
    if (v === undefined) return;
    res[section] ??= {};
    res[section][key] = v;
  };
  set("memory", "limit", num("memory"));
  set("memory", "swap", num("memory-swap"));
  set("memory", "reservation", num("memory-reservation"));
  set("cpu", "shares", num("cpu-shares"));
  set("cpu", "quota", num("cpu-quota"));
  set("cpu", "period", num("cpu-period"));
  set("cpu", "cpus", flags["cpuset-cpus"] as string | undefined);
  set("cpu", "mems", flags["cpuset-mems"] as string | undefined);
  set("pids", "limit", num("pids-limit"));
  set("blockIO", "weight", num("blkio-weight"));
  const cg = cgroupOrThrow(st);
  // Under the systemd driver the cgroup is a transient scope: systemd must
  // learn the new limits too, or a daemon-reload puts the old ones back.
  const unit = st.cgroupPath?.split("/").pop();
  if (unit?.endsWith(".scope")) {
    try {
      setUnitResources(unit, res as never, { cgroupMode: cg.layout.mode });
    } catch (e) {
      log.warn(`systemd unit ${unit}: SetUnitProperties failed, the new limits hold until systemd re-applies the unit's own: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const cpuset = res.cpu && (res.cpu.cpus !== undefined || res.cpu.mems !== undefined)
    ? { cpu: { ...(res.cpu.cpus !== undefined ? { cpus: res.cpu.cpus } : {}), ...(res.cpu.mems !== undefined ? { mems: res.cpu.mems } : {}) } }
    : undefined;
  const child = cpuset && cg.layout.mode !== "v2" && st.procsCgroupPath && st.procsCgroupPath !== st.cgroupPath
    ? reopenCgroup(st.procsCgroupPath)
    : undefined;
  if (!child || !cpuset) {
    for (const w of applyResources(cg, res as never).warnings ?? []) log.warn(w);
    return;
  }
  // v1 keeps a child's cpuset within its parent's (EBUSY/EINVAL otherwise), and
  // the processes live in the delegated child: shrinking goes child first,
  // growing parent first; the child follows the parent either way.
  try {
    applyResources(child, cpuset as never);
  } catch {
    for (const w of applyResources(cg, res as never).warnings ?? []) log.warn(w);
    applyResources(child, cpuset as never);
    return;
  }
  for (const w of applyResources(cg, res as never).warnings ?? []) log.warn(w);
}

/** How often `events` looks at the OOM-kill counter between stats. */
const OOM_POLL_MS = 200;

/**
 * `events`: the stats every `interval` and, as they happen, the OOM kills
 * (`{"type":"oom","id":ID}` per kill, as runc prints them); `--stats`: the
 * stats once.
 */
export async function containerEvents(root: string, id: string, once: boolean, interval: string): Promise<number> {
  const ms = /^(\d+)(ms|s)?$/.exec(interval);
  const every = ms ? Number(ms[1]) * (ms[2] === "ms" ? 1 : 1000) : 5000;
  const cg = cgroupOrThrow(loadState(root, id));
  const print = (event: unknown) => process.stdout.write(eventsJson(event) + "\n");
  let kills = oomKillCount(cg);
  // As runc: the first stats after one interval (at once with --stats).
  let nextStats = once ? 0 : Date.now() + every;
  for (;;) {
    const now = Date.now();
    const seen = oomKillCount(cg);
    for (const e of oomEvents(id, kills, seen)) print(e);
    if (seen !== undefined) kills = seen;
    if (now >= nextStats) {
      loadState(root, id);
      print(eventsStats(id, stats(cg)));
      if (once) return 0;
      nextStats = now + every;
    }
    await Bun.sleep(Math.min(OOM_POLL_MS, every));
  }
}

export function formatList(states: Array<Record<string, unknown>>, format: string, quiet: boolean): string {
  if (quiet) return states.map((s) => `${s.id}\n`).join("");
  if (format === "json") return JSON.stringify(states) + "\n";
  const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...states.map((s) => [s.id, s.pid, s.status, s.bundle, s.created, s.owner || "root"].map(String))];
  // runc's tabwriter: each column but the last as wide as its widest cell plus 3, and at least 12.
  const widths = rows[0]!.map((_, i) => Math.max(12, 3 + Math.max(...rows.map((r) => r[i]!.length))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("") + "\n").join("");
}

/** `ps --format json` prints the pids; the table form runs the host's ps on them, like runc. */
export async function formatPs(pids: number[], format: string, psArgs: string[]): Promise<string> {
  if (format === "json") return JSON.stringify(pids) + "\n";
  const args = psArgs.length ? psArgs : ["-ef"];
  const out = await Bun.$`ps ${args}`.quiet().nothrow().text();
  const lines = out.split("\n");
  const header = lines[0] ?? "";
  const pidCol = header.trim().split(/\s+/).indexOf("PID");
  if (pidCol === -1) throw new Error(`ps: no PID column in "${header}"`);
  const want = new Set(pids);
  return [header, ...lines.slice(1).filter((l) => want.has(Number(l.trim().split(/\s+/)[pidCol])))].join("\n") + "\n";
}

export function writeDefaultSpec(bundle: string): void {
  const path = join(bundle, "config.json");
  if (existsSync(path)) throw new Error(`File ${path} exists. Remove it first`);
  writeFileSync(path, JSON.stringify(defaultSpec(), null, 2) + "\n");
}
