/**
 * Inner images survive `docker commit`, `docker build` and stop/start: the
 * inner engines' host-backed stores (sysbox-mgr's /var/lib/sysbox/<kind>/<id>)
 * are copied into the container's overlay upper dir when it pauses or stops
 * ("sync out"), so Docker's snapshot of the upper dir carries them, and
 * copied from the image into a fresh store when a container is created
 * ("sync in"). Both sides hold in-container ownership (the rootfs and the
 * stores are ID-mapped, nothing is shifted), so a plain copy is right.
 * rsync makes the copy incremental; without it, cp copies it whole.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface InnerStore {
  /** Host dir, e.g. /var/lib/sysbox/docker/<id>. */
  source: string;
  /** Where the container sees it, e.g. /var/lib/docker. */
  destination: string;
}

export interface SyncResult {
  copied: boolean;
  ms: number;
  tool: "rsync" | "cp" | "none";
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return true;
  }
}

/** Copies the contents of `from` into `to`, which ends up an exact copy. */
export function mirrorDir(from: string, to: string): SyncResult["tool"] {
  mkdirSync(to, { recursive: true });
  const rsync = Bun.which("rsync");
  const argv = rsync
    ? [rsync, "-aHX", "--numeric-ids", "--delete", "--no-devices", `${from}/`, `${to}/`]
    : ["sh", "-c", 'find "$2" -mindepth 1 -maxdepth 1 -exec rm -rf {} + && cp -a "$1/." "$2/"', "sh", from, to];
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`copying ${from} to ${to} failed: ${r.stderr.toString().trim()}`);
  return rsync ? "rsync" : "cp";
}

/** At create: a fresh (empty) store gets what the image holds at its destination. */
export function syncIn(store: InnerStore, imageRootfs: string): SyncResult {
  const t0 = performance.now();
  const inImage = join(imageRootfs, store.destination);
  if (!isEmptyDir(store.source) || isEmptyDir(inImage)) return { copied: false, ms: 0, tool: "none" };
  const tool = mirrorDir(inImage, store.source);
  return { copied: true, ms: performance.now() - t0, tool };
}

/** Whether syncOut would copy anything: the store holds something, or the upper dir holds an old copy. */
export function needsSyncOut(store: InnerStore, upperDir: string): boolean {
  return !isEmptyDir(store.source) || existsSync(join(upperDir, store.destination));
}

/** At pause and stop: the upper dir gets the store's contents at its destination. */
export function syncOut(store: InnerStore, upperDir: string): SyncResult {
  const t0 = performance.now();
  const target = join(upperDir, store.destination);
  if (!needsSyncOut(store, upperDir)) return { copied: false, ms: 0, tool: "none" };
  const tool = mirrorDir(store.source, target);
  return { copied: true, ms: performance.now() - t0, tool };
}

/**
 * Docker removes a `--rm` container right after it stops: copying its stores
 * would only cost time. Reads the container's hostconfig.json under Docker's
 * data root: the API cannot answer during `delete`, because dockerd holds the
 * container's lock while it waits for the runtime (an inspect then blocks
 * until its timeout). Anything unknown means "copy".
 */
export async function dockerAutoRemove(id: string, opts: { dataRoot?: string; socket?: string } = {}): Promise<boolean> {
  const file = join(opts.dataRoot ?? "/var/lib/docker", "containers", id, "hostconfig.json");
  if (existsSync(file)) {
    try {
      return (JSON.parse(readFileSync(file, "utf8")) as { AutoRemove?: boolean }).AutoRemove === true;
    } catch {
      return false;
    }
  }
  const socket = opts.socket ?? "/var/run/docker.sock";
  if (!existsSync(socket)) return false;
  try {
    const res = await fetch(`http://docker/containers/${encodeURIComponent(id)}/json`, { unix: socket, signal: AbortSignal.timeout(2000) } as RequestInit);
    if (!res.ok) return false;
    const body = (await res.json()) as { HostConfig?: { AutoRemove?: boolean } };
    return body.HostConfig?.AutoRemove === true;
  } catch {
    return false;
  }
}
