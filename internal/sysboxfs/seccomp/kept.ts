/**
 * Notify fds that outlive sysbox-fs. A seccomp listener closes with its last
 * fd, and from then on every trapped mount of the container fails with
 * ENOSYS, for good (the filter stays on its processes). So, as with FUSE
 * connections, each notify fd is also held by a keeper process
 * (internal/keeper), and a restarted sysbox-fs takes it back:
 *
 *   sysbox-fs                            keeper (`sleep infinity`)
 *     notify fd 23 (the loop's) ----->     fd 3 = the same listener
 *   (killed)                              (still open: trapped calls wait)
 *   sysbox-fs, restarted
 *     pidfd_getfd(keeper, 3) -------->    fd 19 = the same listener again,
 *     adopted by the loop                 served from the state file's record
 *
 * <run-dir>/seccomp-state.json (0600), rewritten whole on every change:
 *   {v: 1, fds: [{containerId, pid, keeper: {pid, startTime}, described?}]}
 * `described` is what the container's description was built from (the
 * registered mount ids and the mountinfo then), so the policy after a restart
 * is the one before it. A keeper stops when its fd hangs up (its processes
 * are gone).
 */
import type { Logger as FullLogger } from "../../log/mod.ts";
import * as v from "valibot";
import { RegisterMountsSchema } from "../../intercept/mod.ts";
import {
  HELD, KeeperRecordSchema, readStateFile, reclaimFd, spawnKeeper, StateFileError, stopKeeper, strayKeepers, writeStateFile,
  type KeeperRecord,
} from "../../keeper/mod.ts";
import { close } from "../../sys/fs.ts";
import type { AdoptedFd, Described, LoopEvent } from "./loop.ts";

export const SECCOMP_STATE = "seccomp-state.json";

/** What /proc/PID/fd/N of a seccomp listener links to. */
const NOTIFY_LINK = HELD.seccompNotify;

const DescribedSchema = v.object({ mounts: RegisterMountsSchema, mountNs: v.string(), mountinfo: v.string() });
const StateSchema = v.object({
  v: v.literal(1),
  fds: v.array(v.object({
    containerId: v.string(),
    pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
    keeper: KeeperRecordSchema,
    described: v.optional(DescribedSchema),
  })),
});

interface Entry {
  containerId: string;
  pid: number;
  described?: Described;
  keeper?: KeeperRecord;
  /** Settles once the keeper is up (or failed to start). */
  ready: Promise<void>;
}

type Logger = Pick<FullLogger, "warn" | "info">;

export interface KeptFds {
  /** The fds taken back from an earlier run's keepers, for the loop to serve. */
  adopted: AdoptedFd[];
  registered(ev: Extract<LoopEvent, { type: "registered" }>): void;
  released(fd: number): void;
}

/** Loads the state file, takes back every fd whose keeper is still ours, and keeps the records current from then on. */
export function openKeptFds(path: string, log: Logger): KeptFds {
  const entries = new Map<number, Entry>();
  const adopted: AdoptedFd[] = [];
  const save = () => {
    const fds = [...entries.values()].flatMap((e) =>
      e.keeper ? [{ containerId: e.containerId, pid: e.pid, keeper: e.keeper, ...(e.described ? { described: e.described } : {}) }] : []);
    try {
      writeStateFile(path, { v: 1, fds });
    } catch (e) {
      log.warn(`seccomp: cannot save ${path}: ${(e as Error).message}`);
    }
  };

  for (const rec of load(path, log)) {
    const fd = reclaimFd(rec.keeper, NOTIFY_LINK);
    if (fd === undefined) continue;
    entries.set(fd, { containerId: rec.containerId, pid: rec.pid, keeper: rec.keeper, ready: Promise.resolve(), ...(rec.described ? { described: rec.described } : {}) });
    adopted.push({ fd, containerId: rec.containerId, pid: rec.pid, ...(rec.described ? { described: rec.described } : {}) });
  }
  if (adopted.length) log.info(`seccomp: took back ${adopted.length} notify fds from their keepers`);
  // Keepers the file does not name (it could not be saved): nobody will
  // serve their fds, so let go, and their processes get ENOSYS, not a hang.
  const known = new Set([...entries.values()].map((e) => e.keeper!.pid));
  for (const k of strayKeepers(path, known, NOTIFY_LINK)) {
    log.warn(`seccomp: stopping keeper ${k.pid} (${k.mountpoint}): not in ${path}`);
    stopKeeper(k);
  }
  save();

  return {
    adopted,
    registered(ev) {
      const entry: Entry = { containerId: ev.containerId, pid: ev.pid, ready: Promise.resolve(), ...(ev.described ? { described: ev.described } : {}) };
      entries.set(ev.fd, entry);
      entry.ready = spawnKeeper(ev.copy, { mountpoint: `seccomp:${ev.containerId}`, stateFile: path }, { held: NOTIFY_LINK })
        .then((k) => {
          entry.keeper = k;
          // Hung up while the keeper started: it has nothing left to keep.
          if (entries.get(ev.fd) === entry) save();
          else stopKeeper(k);
        })
        .catch((e: Error) => log.warn(`seccomp: no keeper for the notify fd of pid ${ev.pid} (container ${ev.containerId}); a sysbox-fs restart breaks its mounts: ${e.message}`))
        .finally(() => close(ev.copy));
    },
    released(fd) {
      const entry = entries.get(fd);
      if (!entry) return;
      entries.delete(fd);
      void entry.ready.then(() => {
        if (entry.keeper) stopKeeper(entry.keeper);
        save();
      });
    },
  };
}

function load(path: string, log: Logger): v.InferOutput<typeof StateSchema>["fds"] {
  try {
    return readStateFile(path, StateSchema)?.fds ?? [];
  } catch (e) {
    // Unreadable: as good as missing (its keepers are then strays, stopped below).
    if (e instanceof StateFileError) log.warn(`seccomp: ignoring ${path}: ${e.reason}`);
    return [];
  }
}
