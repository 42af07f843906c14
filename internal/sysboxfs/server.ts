/**
 * The containers sysbox-fs serves: one FUSE mount each, its emulated values,
 * its keeper, and the state file that lets a restarted sysbox-fs pick all
 * of it up again.
 */
import type { Logger } from "../log/mod.ts";
import { mkdirSync, readFileSync, renameSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { FuseSession, type FuseSys } from "../fuse/mod.ts";
import { TreeFs } from "../fuse/mod.ts";
import { DEFAULT_MOUNT_ROOT, RequestError, type RequestBody, type ResponseInput } from "../ipc/mod.ts";
import { keeperAlive, reclaimFd, spawnKeeper, StateFileError, stopKeeper, strayKeepers, type KeeperOptions } from "../keeper/mod.ts";
import {
  BINDS, CLK_TCK, containerTree, LOAD_INTERVAL_MS, linuxHost, newFileCache, newLoadAverages, nsenterPassThrough, sampleLoad,
  type Emulation, type Host, type LoadAverages, type PassThrough,
} from "../procfs/mod.ts";
import { MNT } from "../sys/flags.ts";
import { umount2 } from "../sys/mount.ts";
import { processStartTime } from "../sys/procstat.ts";
import { loadState, negotiatedFromRecord, negotiatedToRecord, saveState, STATE_VERSION, type ContainerRecord } from "./state.ts";

export { DEFAULT_MOUNT_ROOT };


export interface ServerOptions {
  /** Parent of the per-container mounts. */
  mountRoot: string;
  /** The state file (normally <run-dir>/fs-state.json). */
  stateFile: string;
  /** Keep each connection alive across restarts with a keeper process; default true. */
  keepers?: boolean;
  keeper?: KeeperOptions;
  host?: Host;
  passThrough?: PassThrough;
  /** Pass-through over a sysfs mounted in the caller's namespaces (its /sys/devices/virtual/net). */
  sysfsPassThrough?: PassThrough;
  fuseSys?: FuseSys;
  log?: Logger;
  /** How long a new mount may take to receive INIT; default 5000 ms. */
  initTimeoutMs?: number;
  /** Log each FUSE request and reply at debug level. */
  trace?: boolean;
}

interface Live {
  rec: ContainerRecord;
  session: FuseSession;
  /** Set while we end the session on purpose (unregister, shutdown). */
  closing: boolean;
  /** When the session last had to be remounted after an unexpected end. */
  lastRecovery?: number;
}

/**
 * The start time (ticks) of a container's init, zombie or not: an init that
 * has exited but is not reaped yet still owns its container here.
 */
function initStartTicks(pid: number): string | undefined {
  return processStartTime(pid)?.ticks;
}

function errCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

export class SysboxFs {
  readonly #opts: ServerOptions;
  readonly #host: Host;
  readonly #passThrough: PassThrough;
  readonly #sysfsPassThrough: PassThrough;
  readonly #live = new Map<string, Live>();
  /** Load averages by container id, kept across remounts, fed by one timer for all (#sampleLoads). */
  readonly #loads = new Map<string, LoadAverages>();
  #loadTimer: ReturnType<typeof setInterval> | undefined;
  #sampling = false;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #saveQueued = false;

  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.#host = opts.host ?? linuxHost;
    this.#passThrough = opts.passThrough ?? nsenterPassThrough();
    this.#sysfsPassThrough = opts.sysfsPassThrough ?? nsenterPassThrough({ freshSysfs: true });
  }

  get #keepers(): boolean {
    return this.#opts.keepers ?? true;
  }

  /** Runs mutations one at a time, in arrival order. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => {});
    return next;
  }

  counts(): { containers: number } {
    return { containers: this.#live.size };
  }

  mountpointOf(id: string): string | undefined {
    return this.#live.get(id)?.rec.mountpoint;
  }

  /** Loads the state file and serves every container whose init still runs. */
  open(): Promise<void> {
    return this.#serial(async () => {
      // 0711: container roots reach their own mounts through it (sysbox-runc binds from
      // there inside the container's mount namespace) but cannot list the others.
      mkdirSync(this.#opts.mountRoot, { recursive: true, mode: 0o711 });
      let records: ContainerRecord[];
      try {
        records = loadState(this.#opts.stateFile).containers;
      } catch (e) {
        if (!(e instanceof StateFileError)) throw e;
        const aside = `${this.#opts.stateFile}.bad`;
        renameSync(this.#opts.stateFile, aside);
        this.#opts.log?.warn(`${e.message}; moved to ${aside}, starting with no containers`);
        records = [];
      }
      for (const rec of records) {
        try {
          await this.#restore(rec);
        } catch (e) {
          this.#opts.log?.warn(`container ${rec.id}: cannot serve it again: ${(e as Error).message}`);
          this.#cleanup(rec);
        }
      }
      this.#sweepStrays();
      this.#save();
    });
  }

  /**
   * What a run that died mid-registration may have left: its keepers that
   * no saved container owns, and their mounts. Mounts are never probed (a
   * stat of one nobody serves would wait forever).
   */
  #sweepStrays(): void {
    const known = new Set([...this.#live.values()].flatMap((l) => (l.rec.keeper ? [l.rec.keeper.pid] : [])));
    const owned = new Set([...this.#live.values()].map((l) => l.rec.mountpoint));
    for (const k of strayKeepers(this.#opts.stateFile, known)) {
      this.#opts.log?.info(`stopping keeper ${k.pid} of ${k.mountpoint}: no saved container owns it`);
      stopKeeper(k);
      if (!owned.has(k.mountpoint)) this.#removeMountpoint(k.mountpoint);
    }
  }

  /** Best effort: nothing mounted at `path` and no `path`. */
  #removeMountpoint(path: string): void {
    this.#lazyUnmount(path);
    try {
      rmdirSync(path);
    } catch (e) {
      if (errCode(e) !== "ENOENT") this.#opts.log?.warn(`removing ${path}: ${(e as Error).message}`);
    }
  }

  async #restore(rec: ContainerRecord): Promise<void> {
    if (initStartTicks(rec.initPid) !== rec.initStartTime) {
      this.#opts.log?.info(`container ${rec.id}: init ${rec.initPid} is gone; removing its mount`);
      this.#cleanup(rec);
      return;
    }
    const fd = this.#keepers && rec.keeper && rec.fuse ? reclaimFd(rec.keeper) : undefined;
    if (fd !== undefined) {
      this.#serve(rec, FuseSession.resume(fd, rec.mountpoint, this.#tree(rec), { ...this.#sessionOpts(), negotiated: negotiatedFromRecord(rec.fuse!) }));
      this.#opts.log?.info(`container ${rec.id}: resumed its FUSE connection from keeper ${rec.keeper!.pid}`);
      return;
    }
    await this.#remount(rec);
    this.#opts.log?.warn(
      `container ${rec.id}: its FUSE connection was lost; mounted afresh at ${rec.mountpoint} (bind mounts made from the old one read ENOTCONN until rebound)`,
    );
  }

  /** Replaces whatever is at the mountpoint with a new mount, connection and keeper. */
  async #remount(rec: ContainerRecord): Promise<void> {
    if (rec.keeper) stopKeeper(rec.keeper);
    delete rec.keeper;
    delete rec.fuse;
    this.#lazyUnmount(rec.mountpoint);
    mkdirSync(rec.mountpoint, { recursive: true, mode: 0o755 });
    const session = FuseSession.mount(rec.mountpoint, this.#tree(rec), this.#sessionOpts());
    const live = this.#serve(rec, session);
    try {
      rec.fuse = negotiatedToRecord(await this.#ready(session));
      if (this.#keepers) rec.keeper = await spawnKeeper(session.fd, { mountpoint: rec.mountpoint, stateFile: this.#opts.stateFile }, this.#opts.keeper);
    } catch (e) {
      live.closing = true;
      this.#live.delete(rec.id);
      this.#loadTimerFollow();
      await session.close();
      throw e;
    }
  }

  async #ready(session: FuseSession) {
    const ms = this.#opts.initTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no FUSE INIT on ${session.mountpoint} within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([session.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #sessionOpts() {
    return {
      ...(this.#opts.log ? { log: this.#opts.log } : {}),
      ...(this.#opts.fuseSys ? { sys: this.#opts.fuseSys } : {}),
      trace: this.#opts.trace === true,
    };
  }

  #tree(rec: ContainerRecord): TreeFs {
    let load = this.#loads.get(rec.id);
    if (!load) this.#loads.set(rec.id, (load = newLoadAverages()));
    const em: Emulation = {
      info: rec,
      state: { sysctls: rec.sysctls },
      changed: () => this.#saveSoon(),
      host: this.#host,
      passThrough: this.#passThrough,
      sysfsPassThrough: this.#sysfsPassThrough,
      load,
      cache: newFileCache(),
      ...(this.#opts.log ? { log: this.#opts.log } : {}),
    };
    return new TreeFs(containerTree(em));
  }

  #serve(rec: ContainerRecord, session: FuseSession): Live {
    const live: Live = { rec, session, closing: false };
    this.#live.set(rec.id, live);
    void session.ended.then((end) => this.#onEnded(live, end.reason, end.error));
    this.#loadTimerFollow();
    return live;
  }

  /**
   * One timer samples every container's load (/proc/loadavg) while there
   * are containers; unref'd, so it never keeps the daemon alive.
   */
  #loadTimerFollow(): void {
    const want = this.#live.size > 0 && !this.#closed;
    if (want && !this.#loadTimer) {
      this.#loadTimer = setInterval(() => void this.#sampleLoads(), LOAD_INTERVAL_MS);
      this.#loadTimer.unref();
    } else if (!want && this.#loadTimer) {
      clearInterval(this.#loadTimer);
      this.#loadTimer = undefined;
    }
  }

  /** Reads host files only (never a FUSE mount), one container per turn of the event loop. */
  async #sampleLoads(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      for (const [id, live] of [...this.#live]) {
        const load = this.#loads.get(id);
        if (!load || this.#live.get(id) !== live) continue;
        try {
          sampleLoad(this.#host, live.rec.initPid, load);
        } catch (e) {
          this.#opts.log?.debug(`container ${id}: load sample: ${(e as Error).message}`);
        }
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#sampling = false;
      this.#emitFigures();
    }
  }

  /** A session ended without us asking (someone unmounted it): mount it again, at most every 10 s. */
  #onEnded(live: Live, reason: string, error: unknown): void {
    if (live.closing || this.#closed || this.#live.get(live.rec.id) !== live) return;
    const why = error ? `${reason}: ${(error as Error).message}` : reason;
    const now = Date.now();
    if (live.lastRecovery !== undefined && now - live.lastRecovery < 10_000) {
      this.#opts.log?.warn(`container ${live.rec.id}: FUSE session ended again (${why}); not mounting it again`);
      return;
    }
    this.#opts.log?.warn(`container ${live.rec.id}: FUSE session ended (${why}); mounting it again`);
    void this.#serial(async () => {
      if (this.#closed || this.#live.get(live.rec.id) !== live) return;
      try {
        await this.#remount(live.rec);
        const again = this.#live.get(live.rec.id);
        if (again) again.lastRecovery = now;
      } catch (e) {
        this.#opts.log?.warn(`container ${live.rec.id}: remount failed: ${(e as Error).message}`);
      }
      this.#save();
    });
  }

  register(body: RequestBody<"fsRegister">): Promise<ResponseInput<"fsRegister">> {
    return this.#serial(async () => {
      if (this.#closed) throw new RequestError("shutting-down", "sysbox-fs is shutting down");
      const initStartTime = initStartTicks(body.initPid);
      if (initStartTime === undefined) throw new RequestError("no-such-process", `init process ${body.initPid} is not running`);
      const known = this.#live.get(body.id);
      if (known && known.rec.initPid === body.initPid && known.rec.initStartTime === initStartTime) return this.#reply(known.rec);
      if (known) await this.#teardown(known);

      const startBoot =
        body.startTime !== undefined
          ? this.#host.uptime().up - (Date.now() - body.startTime) / 1000
          : Number(initStartTime) / CLK_TCK;
      const rec: ContainerRecord = {
        id: body.id,
        initPid: body.initPid,
        initStartTime,
        startBoot: Math.max(0, startBoot),
        uidFirst: body.uidFirst,
        uidSize: body.uidSize,
        gidFirst: body.gidFirst,
        gidSize: body.gidSize,
        mountpoint: join(this.#opts.mountRoot, body.id),
        sysctls: {},
      };
      await this.#remount(rec);
      this.#save();
      this.#opts.log?.info(`container ${rec.id}: registered (init ${rec.initPid}), FUSE at ${rec.mountpoint}`);
      return this.#reply(rec);
    });
  }

  #reply(rec: ContainerRecord): ResponseInput<"fsRegister"> {
    return {
      mountpoint: rec.mountpoint,
      binds: BINDS.map((b) => ({ source: join(rec.mountpoint, b.source), destination: b.destination })),
    };
  }

  unregister(body: RequestBody<"fsUnregister">): Promise<ResponseInput<"fsUnregister">> {
    return this.#serial(async () => {
      const live = this.#live.get(body.id);
      if (!live) {
        // A mount left by a run that died while registering this id.
        this.#removeMountpoint(join(this.#opts.mountRoot, body.id));
        return { result: "unknown" as const };
      }
      await this.#teardown(live);
      this.#save();
      this.#opts.log?.info(`container ${body.id}: unregistered`);
      return { result: "released" as const };
    });
  }

  async #teardown(live: Live): Promise<void> {
    live.closing = true;
    this.#live.delete(live.rec.id);
    this.#loads.delete(live.rec.id);
    this.#loadTimerFollow();
    await live.session.close();
    this.#cleanup(live.rec);
  }

  /** Best effort: nothing of `rec` stays on the host. */
  #cleanup(rec: ContainerRecord): void {
    this.#loads.delete(rec.id);
    if (rec.keeper) stopKeeper(rec.keeper);
    this.#removeMountpoint(rec.mountpoint);
  }

  #lazyUnmount(path: string): void {
    // Stale FUSE mounts stack when a previous run crashed between mounts; take them all.
    for (let i = 0; i < 16 && isMountpoint(path); i++) {
      try {
        (this.#opts.fuseSys?.umount2 ?? umount2)(path, MNT.DETACH);
      } catch (e) {
        this.#opts.log?.warn(`unmounting ${path}: ${(e as Error).message}`);
        return;
      }
    }
  }

  #saveSoon(): void {
    if (this.#saveQueued) return;
    this.#saveQueued = true;
    queueMicrotask(() => {
      this.#saveQueued = false;
      this.#save();
    });
  }

  /**
   * Each container's init, start and load averages, for the interceptor's
   * sysinfo(2) answers; sent after every change and every load sample.
   */
  onFigures?: (list: Array<{ id: string; initPid: number; startBoot: number; load: [number, number, number] }>) => void;

  figures(): Array<{ id: string; initPid: number; startBoot: number; load: [number, number, number] }> {
    return [...this.#live.values()].map((l) => {
      const avg = this.#loads.get(l.rec.id)?.avg ?? [0, 0, 0];
      return { id: l.rec.id, initPid: l.rec.initPid, startBoot: l.rec.startBoot, load: [avg[0], avg[1], avg[2]] };
    });
  }

  #emitFigures(): void {
    try {
      this.onFigures?.(this.figures());
    } catch (e) {
      this.#opts.log?.warn(`sending container figures to the interceptor: ${(e as Error).message}`);
    }
  }

  #save(): void {
    this.#emitFigures();
    try {
      saveState(this.#opts.stateFile, { version: STATE_VERSION, containers: [...this.#live.values()].map((l) => l.rec) });
    } catch (e) {
      this.#opts.log?.warn(`saving ${this.#opts.stateFile}: ${(e as Error).message}`);
    }
  }

  /**
   * Stops serving. With keepers, mounts and keepers stay so the next start
   * resumes each connection where this one stopped (requests meanwhile wait
   * in the kernel); without, the mounts are taken down.
   */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#loadTimerFollow();
      for (const live of this.#live.values()) {
        live.closing = true;
        const keep = this.#keepers && live.rec.keeper !== undefined && keeperAlive(live.rec.keeper);
        await live.session.close({ unmount: !keep });
        if (!keep) this.#cleanup(live.rec);
      }
      this.#save();
    });
  }
}

/** Whether something is mounted exactly at `path` in our mount namespace. */
export function isMountpoint(path: string): boolean {
  const esc = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === esc);
}
