/**
 * sysbox-fs's syscall interceptor, as seen from the JavaScript thread: it
 * owns the registration socket <run-dir>/sysfs-seccomp.sock (0600), starts
 * the notify loop on a Worker thread (loop.ts), logs what the loop reports,
 * and stops it.
 *
 *   JS thread (server.ts)                 interceptor thread (worker.ts, loop.ts)
 *   listen(sock, NONBLOCK), SO_PASSCRED
 *   pipe(wake) ---------- LoopInit ----->  poll([wake, sock, conns..., notify fds...])
 *                                           accept, register, RECV/decide/SEND
 *   logger  <------ LoopEvent messages ---  (registered, decision, released...)
 *   close(): port "stop" + wake byte --->   close notify fds and conns
 *            <------------ "stopped" ----
 *
 * Why the loop answers on its own thread (measured on 2 busy cores): a
 * blocking poll(2) through bun:ffi holds the thread that calls it, and
 * sysbox-fs's JavaScript thread serves FUSE. Polling from that thread on a
 * timer makes each trapped call wait for the next tick, ~1.2 ms (setTimeout's
 * floor; setImmediate spins a core instead). Posting ready fds from a
 * polling worker to the JavaScript thread adds a round trip of ~14 us
 * (median) plus whatever FUSE work is queued there. Answering where the poll
 * wakes costs ~25 us per trapped call decided from its flags and ~200 us when
 * the path must be resolved, most of it reading and parsing mountinfo
 * (bench/intercept.ts).
 */
import type { Logger } from "../../log/mod.ts";
import { chmodSync, mkdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { MessageChannel } from "node:worker_threads";
import { close, pipe2, write, O_FLAGS } from "../../sys/fs.ts";
import { errnoName, isSysError } from "../../sys/errno.ts";
import { setPassCred, unixListen, SOCK } from "../../sys/socket.ts";
import { interceptSocketPath } from "../../intercept/mod.ts";
import { openKeptFds, SECCOMP_STATE } from "./kept.ts";
import { STAT, STAT_SLOTS, type ContainerFigures, type LoopEvent, type LoopInit } from "./loop.ts";
import type { VirtualFsConfig } from "./virtualfs.ts";


export interface InterceptServerOptions {
  runDir: string;
  logger?: Logger;
  /** Log every decision, not only refusals. */
  debug?: boolean;
  /** sysbox-fs's files to bind into proc and sysfs mounted inside containers. */
  virtualFs?: VirtualFsConfig;
  /**
   * Keep each notify fd in a keeper process too, recorded in
   * <run-dir>/seccomp-state.json, so a restarted sysbox-fs serves running
   * containers' trapped calls again (they wait meanwhile instead of failing
   * with ENOSYS).
   */
  keepers?: boolean;
}

export interface InterceptStats {
  notifications: number;
  continued: number;
  denied: number;
  /** Calls sysbox-fs carried out itself (new proc and sysfs mounts). */
  handled: number;
  /** Notifications whose process went away before the answer. */
  gone: number;
  errors: number;
  containers: number;
  fds: number;
  /** Mean and longest time from RECV to SEND, in microseconds. */
  meanMicros: number;
  maxMicros: number;
}

export interface InterceptServer {
  readonly socketPath: string;
  stats(): InterceptStats;
  /** Every container's init, start and loads, for sysinfo(2) answers (replaces the last list). */
  setFigures(list: ContainerFigures[]): void;
  /** Stops the loop (trapped calls of registered containers then fail with ENOSYS) and removes the socket. */
  close(): Promise<void>;
}


/** The worker's module: beside this file in a checkout, an extra entry point in a compiled binary. */
function workerUrl(): string | URL {
  if (import.meta.url.includes("$bunfs")) return "/$bunfs/root/internal/sysboxfs/seccomp/worker.ts";
  return new URL("./worker.ts", import.meta.url);
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function startInterceptServer(opts: InterceptServerOptions): Promise<InterceptServer> {
  const log = opts.logger ?? silent;
  const socketPath = interceptSocketPath(opts.runDir);
  mkdirSync(opts.runDir, { recursive: true, mode: 0o700 });
  try {
    unlinkSync(socketPath);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
  const kept = opts.keepers ? openKeptFds(join(opts.runDir, SECCOMP_STATE), log) : undefined;
  const listenFd = unixListen(socketPath, 128, SOCK.STREAM | SOCK.NONBLOCK | SOCK.CLOEXEC);
  const [wakeR, wakeW] = pipe2(O_FLAGS.CLOEXEC | O_FLAGS.NONBLOCK);
  const cleanup = () => {
    for (const fd of [listenFd, wakeR, wakeW]) {
      try {
        close(fd);
      } catch {
        // Closed already.
      }
    }
    try {
      unlinkSync(socketPath);
    } catch {
      // Gone already.
    }
  };
  let worker: Worker;
  const stats = new SharedArrayBuffer(8 * STAT_SLOTS);
  const { port1, port2 } = new MessageChannel();
  let stopped!: () => void;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
  try {
    setPassCred(listenFd);
    chmodSync(socketPath, 0o600);
    worker = new Worker(workerUrl());
    await new Promise<void>((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(`interceptor thread: ${e.message}`));
      worker.onmessage = (e: MessageEvent<LoopEvent>) => {
        if (e.data.type === "ready") resolve();
        else if (e.data.type === "stopped") reject(new Error("interceptor thread stopped while starting"));
      };
      const init: LoopInit = { listenFd, wakeFd: wakeR, port: port2 as unknown as LoopInit["port"], stats, debug: opts.debug ?? false,
        ...(kept ? { adopt: kept.adopted } : {}),
        ...(opts.virtualFs ? { virtualFs: { mountRoot: opts.virtualFs.mountRoot, binds: [...opts.virtualFs.binds] } } : {}) };
      worker.postMessage(init, [port2 as unknown as MessagePort]);
    });
  } catch (e) {
    cleanup();
    throw e;
  }

  worker.onerror = (e) => log.error(`interceptor thread: ${e.message}`);
  worker.onmessage = (e: MessageEvent<LoopEvent>) => {
    const ev = e.data;
    switch (ev.type) {
      case "registered":
        log.info(`seccomp: ${ev.kind} process ${ev.pid} of container ${ev.containerId} registered (notify fd ${ev.fd})`);
        if (kept) kept.registered(ev);
        else close(ev.copy);
        break;
      case "refused":
        log.warn(`seccomp: registration${ev.pid ? ` from pid ${ev.pid}` : ""} refused: ${ev.error}`);
        break;
      case "released":
        log.info(`seccomp: container ${ev.containerId}: notify fd ${ev.fd} of pid ${ev.pid} hung up${ev.remaining === 0 ? "; container gone" : ""}`);
        kept?.released(ev.fd);
        break;
      case "decision": {
        const what = `${ev.syscall}(${ev.target !== undefined ? JSON.stringify(ev.target) : ""}) by pid ${ev.pid} of ${ev.containerId}`;
        if (ev.action === "error") log.info(`seccomp: ${what}: ${errnoName(ev.errno!)}: ${ev.reason}`);
        else log.debug(`seccomp: ${what}: ${ev.action} (${ev.reason}, ${ev.micros} us)`);
        break;
      }
      case "error":
        log.error(`seccomp: ${ev.message}`);
        break;
      case "stopped":
        stopped();
        break;
    }
  };
  // The thread must not keep a daemon alive on its own.
  worker.unref();

  let closing: Promise<void> | undefined;
  const counters = new BigInt64Array(stats);
  const num = (slot: number) => Number(Atomics.load(counters, slot));
  const wake = () => {
    try {
      write(wakeW, new Uint8Array([1]));
    } catch (e) {
      // A wake byte already waits (EAGAIN), or the loop is gone (EBADF after close).
      if (!isSysError(e, "EAGAIN") && !isSysError(e, "EBADF")) throw e;
    }
  };
  return {
    socketPath,
    setFigures(list) {
      if (closing) return;
      port1.postMessage({ type: "figures", containers: list });
      wake();
    },
    stats() {
      const n = num(STAT.notifications);
      return {
        notifications: n, continued: num(STAT.continued), denied: num(STAT.denied), handled: num(STAT.handled), gone: num(STAT.gone), errors: num(STAT.errors),
        containers: num(STAT.containers), fds: num(STAT.fds),
        meanMicros: n ? num(STAT.handleNanosTotal) / n / 1000 : 0, maxMicros: num(STAT.handleNanosMax) / 1000,
      };
    },
    close() {
      closing ??= (async () => {
        // No new connections (a client retries until the next sysbox-fs
        // listens); the loop still serves those it has (STOP_DRAIN_MS).
        try {
          unlinkSync(socketPath);
        } catch {
          // Gone already.
        }
        port1.postMessage({ type: "stop" });
        try {
          write(wakeW, new Uint8Array([1]));
        } catch (e) {
          if (!isSysError(e, "EAGAIN")) throw e;
        }
        const timedOut = await Promise.race([whenStopped.then(() => false), Bun.sleep(2000).then(() => true)]);
        if (timedOut) log.warn("seccomp: the interceptor thread did not stop within 2 s; terminating it");
        worker.terminate();
        port1.close();
        cleanup();
      })();
      return closing;
    },
  };
}
