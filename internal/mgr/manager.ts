/**
 * sysbox-mgr's container bookkeeping: who holds which ID range and host dirs,
 * saved before each reply, and the sweep that reclaims what containers that
 * no longer exist held. Request handlers are synchronous, so requests never
 * interleave; see mod.ts for the message sequence.
 */
import type { Logger } from "../log/mod.ts";
import { release as osRelease } from "node:os";
import { basename, dirname, join } from "node:path";
import { ensureSysboxRanges, ensureSysboxUser, IdPool, spanText, type IdSpan } from "../idrange/mod.ts";
import { MGR_MOUNT_KINDS, RequestError, type RequestBody, type ResponseInput, type SettingDefaults } from "../ipc/mod.ts";
import { SYSBOX_SETTING_DEFAULTS } from "../syscont/mod.ts";
import { initAlive } from "./_proc.ts";
import { DEFAULT_DATA_ROOT, exists, kernelMounts, prepareDataRoot, prepareDirs, removeDirs } from "./dirs.ts";
import { loadState, saveState, STATE_FILE, STATE_VERSION, type ContainerRecord } from "./state.ts";


export interface ManagerOptions {
  /** Default /var/lib/sysbox. */
  dataRoot?: string;
  /** Where etc/subuid, etc/subgid, etc/login.defs, etc/passwd, lib/modules and usr/src are read; default "/". */
  hostRoot?: string;
  logger?: Logger;
  /** How long a registered container may go without a live init before it counts as gone; default 60 s. */
  registerGraceMs?: number;
  /** Period of the background sweep; default 30 s, 0 for none. */
  reclaimIntervalMs?: number;
  /** Size of the range added to subuid/subgid when sysbox has none. */
  rangeWanted?: number;
  /** Create the sysbox user when missing; default true. */
  createUser?: boolean;
  /** `uname -r`; default the running kernel's. */
  kernelRelease?: string;
  now?: () => number;
  /** Seam for tests: whether an init with this pid and start time runs. */
  initAlive?: (init: { pid: number; startTime: string }) => boolean;
  /** Per-container setting defaults handed to sysbox-runc at register; default Sysbox's. */
  settings?: SettingDefaults;
}

export interface MgrCounts {
  containers: number;
  rangesUsed: number;
  rangesTotal: number;
  rangeSize: number;
  idRanges: IdSpan[];
}

/** Error codes in mgr replies (besides the IPC layer's own). */
export const MGR_ERRORS = {
  notRegistered: "not-registered",
  running: "container-running",
  exhausted: "id-range-exhausted",
  badOwner: "invalid-owner",
  badMapping: "invalid-mapping",
  initGone: "init-not-running",
} as const;

const NOOP_LOGGER: Logger = { info() {}, warn() {}, debug() {}, error() {} };

/** The path whose existence means the container still exists: Docker's layer dir for ".../merged", else the rootfs. */
export function removalWatchPath(rootfs: string): string {
  return basename(rootfs) === "merged" ? dirname(rootfs) : rootfs;
}

export class Manager {
  readonly hostRoot: string;
  #dataRoot: string;
  #opts: ManagerOptions;
  #log: Logger;
  #pool = new IdPool([]);
  #records = new Map<string, ContainerRecord>();
  #statePath = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #open = false;

  constructor(opts: ManagerOptions = {}) {
    this.#dataRoot = opts.dataRoot ?? DEFAULT_DATA_ROOT;
    this.hostRoot = opts.hostRoot ?? "/";
    this.#opts = opts;
    this.#log = opts.logger ?? NOOP_LOGGER;
  }

  /**
   * Host setup and recovery: the data root, the sysbox user, sysbox's
   * subuid/subgid ranges, the saved state, and a first sweep. Throws with a
   * message naming what to fix.
   */
  open(): void {
    this.#dataRoot = prepareDataRoot(this.#dataRoot);
    this.#statePath = join(this.#dataRoot, STATE_FILE);

    if (this.#opts.createUser !== false) {
      const ran = ensureSysboxUser({ root: this.hostRoot });
      if (ran) this.#log.info(`created the system user sysbox (${ran})`);
    }
    const etc = (f: string) => join(this.hostRoot, "etc", f);
    const setup = ensureSysboxRanges(
      { subuid: etc("subuid"), subgid: etc("subgid"), loginDefs: etc("login.defs") },
      this.#opts.rangeWanted === undefined ? {} : { wanted: this.#opts.rangeWanted },
    );
    for (const w of setup.warnings) this.#log.warn(w);
    if (setup.added) this.#log.info(`added sysbox:${setup.added.start}:${setup.added.size} to ${etc("subuid")} and ${etc("subgid")}`);
    this.#pool = new IdPool(setup.ranges);

    const saved = loadState(this.#statePath);
    for (const rec of saved?.containers ?? []) {
      this.#records.set(rec.id, rec);
      if (rec.source === "pool") this.#pool.reserve(rec.id, { start: rec.uid, size: rec.size });
    }
    for (const ids of this.#pool.conflicts()) this.#log.warn(`saved state gives containers ${ids.join(", ")} overlapping ID ranges`);
    this.#open = true;
    const reclaimed = this.sweep();
    if (!saved) this.#save();
    const restored = saved ? `; state restored from ${this.#statePath}, ${reclaimed.length} containers reclaimed` : "";
    this.#log.info(
      `ID ranges ${setup.ranges.map(spanText).join(", ")}: ${this.#pool.total} ranges of ${this.#pool.blockSize} ids, ` +
        `${this.#pool.used} in use by ${this.#records.size} containers${restored}`,
    );

    const every = this.#opts.reclaimIntervalMs ?? 30_000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        try {
          this.sweep();
        } catch (e) {
          this.#log.warn(`sweep failed: ${(e as Error).message}`);
        }
      }, every);
      this.#timer.unref();
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The data root's real path once open() has run. */
  get dataRoot(): string {
    return this.#dataRoot;
  }

  get statePath(): string {
    return this.#statePath;
  }

  counts(): MgrCounts {
    return {
      containers: this.#records.size,
      rangesUsed: this.#pool.used,
      rangesTotal: this.#pool.total,
      rangeSize: this.#pool.blockSize,
      idRanges: this.#pool.ranges.map((r) => ({ ...r })),
    };
  }

  /** A copy of the record of `id`, for tests and diagnostics. */
  record(id: string): ContainerRecord | undefined {
    const r = this.#records.get(id);
    return r && structuredClone(r);
  }

  register(b: RequestBody<"register">): ResponseInput<"register"> {
    this.#assertOpen();
    // The id itself is spared: registering it again (a restart) keeps its range and dirs.
    this.sweep({ except: b.id });
    const old = this.#records.get(b.id);
    if (old?.init && this.#alive(old.init)) {
      throw new RequestError(MGR_ERRORS.running, `container ${b.id} is already registered and its init (pid ${old.init.pid}) is running`);
    }
    if (b.mapping && (b.mapping.uid === 0 || b.mapping.gid === 0)) {
      throw new RequestError(MGR_ERRORS.badMapping, `container ${b.id}'s mapping maps container root to host id 0; this breaks container isolation`);
    }
    let range: { uid: number; gid: number; size: number; source: ContainerRecord["source"] };
    if (b.mapping) {
      range = { ...b.mapping, source: "spec" };
    } else if (old?.source === "pool") {
      range = { uid: old.uid, gid: old.gid, size: old.size, source: "pool" };
    } else {
      let span: IdSpan;
      try {
        span = this.#pool.allocate(b.id);
      } catch (e) {
        throw new RequestError(MGR_ERRORS.exhausted, (e as Error).message);
      }
      range = { uid: span.start, gid: span.start, size: span.size, source: "pool" };
    }
    const rootfs = b.rootfs ?? old?.rootfs;
    const rec: ContainerRecord = {
      id: b.id,
      ...range,
      registeredAt: new Date(this.#now()).toISOString(),
      ...(rootfs !== undefined ? { rootfs } : {}),
      ...(old?.dirs ? { dirs: old.dirs } : {}),
    };
    this.#commit(() => {
      if (old?.source === "pool" && rec.source !== "pool") this.#pool.release(b.id);
      this.#records.set(b.id, rec);
    });
    this.#log.info(`${old ? "re-registered" : "registered"} container ${b.id}: ids ${rec.uid}-${rec.uid + rec.size - 1}${rec.source === "spec" ? " (the spec's mapping)" : ""}`);
    return { uid: rec.uid, gid: rec.gid, size: rec.size, reused: old !== undefined, settings: { ...(this.#opts.settings ?? SYSBOX_SETTING_DEFAULTS) } };
  }

  update(b: RequestBody<"update">): ResponseInput<"update"> {
    const rec = this.#get(b.id);
    const init = { pid: b.initPid, startTime: b.initStartTime };
    if (!this.#alive(init)) {
      throw new RequestError(MGR_ERRORS.initGone, `init of container ${b.id} (pid ${b.initPid}, start time ${b.initStartTime}) is not running`);
    }
    this.#commit(() => {
      rec.init = init;
      delete rec.stopped;
    });
    this.#log.debug(`container ${b.id}: init pid ${b.initPid}`);
    return {};
  }

  prepareMounts(b: RequestBody<"prepareMounts">): ResponseInput<"prepareMounts"> {
    const rec = this.#get(b.id);
    const inRange = (id: number, first: number) => id >= first && id < first + rec.size;
    if (!(b.uid === 0 && b.gid === 0) && !(inRange(b.uid, rec.uid) && inRange(b.gid, rec.gid))) {
      throw new RequestError(
        MGR_ERRORS.badOwner,
        `owner ${b.uid}:${b.gid} of container ${b.id}'s dirs must be 0:0 or within its ID range ${rec.uid}-${rec.uid + rec.size - 1}`,
      );
    }
    const kinds = b.kinds ?? [...MGR_MOUNT_KINDS];
    const known = new Set([...(rec.dirs?.kinds ?? []), ...kinds]);
    const owner = { uid: b.uid, gid: b.gid };
    if (rec.dirs && (rec.dirs.uid !== b.uid || rec.dirs.gid !== b.gid)) {
      this.#log.warn(`container ${b.id}: owner of its dirs changes from ${rec.dirs.uid}:${rec.dirs.gid} to ${b.uid}:${b.gid}; only the top dirs are chowned`);
    }
    // Recorded before the dirs exist, so a crash in between cannot leave dirs no record claims.
    const dirs = { ...owner, kinds: MGR_MOUNT_KINDS.filter((k) => known.has(k)) };
    if (JSON.stringify(dirs) !== JSON.stringify(rec.dirs)) {
      this.#commit(() => {
        rec.dirs = dirs;
      });
    }
    const mounts = [
      ...prepareDirs(this.dataRoot, b.id, { owner, kinds }),
      ...kernelMounts(this.hostRoot, this.#opts.kernelRelease ?? osRelease()),
    ];
    return { mounts };
  }

  unregister(b: RequestBody<"unregister">): ResponseInput<"unregister"> {
    this.#assertOpen();
    const rec = this.#records.get(b.id);
    if (!rec) return { result: "unknown" };
    if (rec.rootfs !== undefined && exists(removalWatchPath(rec.rootfs))) {
      this.#commit(() => {
        delete rec.init;
        rec.stopped = true;
      });
      this.#log.info(`container ${b.id} stopped; keeping its ID range and dirs while ${removalWatchPath(rec.rootfs)} exists`);
      return { result: "kept" };
    }
    this.#release([rec], "unregistered");
    return { result: "released" };
  }

  /**
   * Reclaims the range and dirs of every container that no longer exists.
   * A container exists while its init runs, while its rootfs (see
   * removalWatchPath) exists, or, before it has an init, for the grace period
   * after register. Returns the ids reclaimed.
   */
  sweep(opts: { except?: string } = {}): string[] {
    this.#assertOpen();
    const grace = this.#opts.registerGraceMs ?? 60_000;
    const now = this.#now();
    const gone = [...this.#records.values()].filter((r) => {
      if (r.id === opts.except) return false;
      if (r.init && this.#alive(r.init)) return false;
      if (r.rootfs !== undefined && exists(removalWatchPath(r.rootfs))) return false;
      if (!r.init && !r.stopped && now - Date.parse(r.registeredAt) < grace) return false;
      return true;
    });
    if (gone.length) this.#release(gone, "reclaimed");
    return gone.map((r) => r.id);
  }

  #release(recs: ContainerRecord[], verb: string): void {
    this.#commit(() => {
      for (const r of recs) {
        this.#records.delete(r.id);
        this.#pool.release(r.id);
      }
    });
    // Dirs go after the state no longer claims them; a failure leaves a dir, never a range in use twice.
    for (const r of recs) {
      for (const f of removeDirs(this.dataRoot, r.id)) this.#log.warn(f);
      const why = verb === "reclaimed" ? (r.init ? ` (init pid ${r.init.pid} is gone)` : r.stopped ? " (its rootfs is gone)" : " (no init after register)") : "";
      this.#log.info(`${verb} container ${r.id}${why}: freed ids ${r.uid}-${r.uid + r.size - 1}`);
    }
  }

  /** Applies `change` and saves; on a failed save, memory goes back to what is on disk. */
  #commit(change: () => void): void {
    const before = structuredClone([...this.#records.values()]);
    change();
    try {
      this.#save();
    } catch (e) {
      this.#records = new Map(before.map((r) => [r.id, r]));
      const pool = new IdPool(this.#pool.ranges, { blockSize: this.#pool.blockSize });
      for (const r of before) if (r.source === "pool") pool.reserve(r.id, { start: r.uid, size: r.size });
      this.#pool = pool;
      throw new Error(`cannot save state to ${this.#statePath}: ${(e as Error).message}`, { cause: e });
    }
  }

  #save(): void {
    saveState(this.#statePath, {
      version: STATE_VERSION,
      idRanges: this.#pool.ranges.map((r) => ({ ...r })),
      containers: [...this.#records.values()],
    });
  }

  #get(id: string): ContainerRecord {
    this.#assertOpen();
    const rec = this.#records.get(id);
    if (!rec) throw new RequestError(MGR_ERRORS.notRegistered, `container ${id} is not registered`);
    return rec;
  }

  #alive(init: { pid: number; startTime: string }): boolean {
    return (this.#opts.initAlive ?? initAlive)(init);
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #assertOpen(): void {
    if (!this.#open) throw new TypeError("Manager.open() has not run");
  }
}
