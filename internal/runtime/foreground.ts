/**
 * A process in the foreground, as runc runs one (`run` and `exec` without
 * --detach): signals sent to sysbox-runc go to the process, and its exit
 * status becomes ours. With `process.terminal` and no --console-socket the
 * init hands its pty master back to us over a socketpair (the same message a
 * console socket gets); we put the caller's terminal in raw mode, copy stdin
 * to the pty and the pty to stdout, and follow the caller's window size.
 *
 * The loop polls (50 ms at most) instead of blocking in waitpid so that
 * Bun's signal callbacks (SIGWINCH, signals to forward) run between rounds.
 */
import { isSysError } from "../sys/errno.ts";
import { O_FLAGS, close, open, read, write } from "../sys/fs.ts";
import { pollFds, POLL } from "../sys/poll.ts";
import { SIG, WAIT, exitCodeOf, waitpid } from "../sys/proc.ts";
import { clearOnlcr, getTermios, getWinsize, makeRaw, setTermios, setWinsize } from "../sys/pty.ts";
import { recvFds, socketpair, SOCK } from "../sys/socket.ts";
import { setCloexec } from "../sys/fs.ts";
import { killProcess } from "./signals.ts";

/** How the process's terminal is reached, checked as runc's checkTerminal does. */
export type ConsoleMode = "none" | "socket" | "foreground";

export function consoleMode(terminal: boolean, consoleSocket: string | undefined, detach: boolean): ConsoleMode {
  if (detach && terminal && !consoleSocket) throw new Error("cannot allocate tty if runc will detach without setting console socket");
  if ((!detach || !terminal) && consoleSocket) throw new Error("cannot use console socket if runc will not detach or allocate tty");
  if (!terminal) return "none";
  return consoleSocket ? "socket" : "foreground";
}

function isTty(fd: number): boolean {
  try {
    getTermios(fd);
    return true;
  } catch {
    return false;
  }
}

/** The caller's terminal: stderr, stdout or stdin if one is a tty, else /dev/tty (runc's order). */
export interface HostConsole {
  fd: number;
  /** Opened here (/dev/tty): closed at the end. */
  opened: boolean;
}

export function hostConsole(): HostConsole {
  for (const fd of [2, 1, 0]) if (isTty(fd)) return { fd, opened: false };
  return { fd: open("/dev/tty", O_FLAGS.RDWR | O_FLAGS.NOCTTY | O_FLAGS.CLOEXEC), opened: true };
}

/** The pair the init sends its pty master over: `init` is inherited by the init stage, `ours` is not. */
export function consolePair(): { ours: number; init: number } {
  const [ours, init] = socketpair(SOCK.STREAM | SOCK.CLOEXEC);
  setCloexec(init, false);
  return { ours, init };
}

/** Takes the pty master the init sent (it did so before reporting ready). */
export function receiveMaster(ours: number): number {
  const r = recvFds(ours, 1);
  const [master, ...extra] = r.fds;
  for (const fd of extra) close(fd);
  if (master === undefined) throw new Error("the container's init sent no pty master");
  return master;
}

/** Signals runc forwards to the process (all but those it handles itself); the ones Bun lets us catch. */
const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGCONT"] as const;

/**
 * Holds the signals runForeground forwards while the container is being
 * started (its process may already run, and a SIGTERM then must not kill
 * us with the default action); `replay` sends them to `pid` once the
 * forwarding is in place.
 */
export function holdSignals(): { replay(pid: number): void; drop(): void } {
  const seen: Array<(typeof FORWARDED)[number]> = [];
  const fns = FORWARDED.map((s) => [s, () => seen.push(s)] as const);
  for (const [s, fn] of fns) process.on(s, fn);
  const drop = () => { for (const [s, fn] of fns) process.off(s, fn); };
  return {
    drop,
    replay(pid) {
      drop();
      for (const s of seen) killProcess(pid, SIG[s]);
    },
  };
}

export interface ForegroundOptions {
  /** The process to wait for. */
  pid: number;
  /** Reap any child (we are the subreaper of a `run`), returning when `pid` ends. */
  reapAny: boolean;
  /** The pty master, when the process has a terminal. */
  master?: number;
  /** The caller's terminal, when there is a pty. */
  host?: HostConsole;
}

/** write(2) of all of `buf`, waiting out EAGAIN on an fd someone made non-blocking. */
function writeFully(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) {
    try {
      off += write(fd, buf.subarray(off));
    } catch (e) {
      if (!isSysError(e, "EAGAIN")) throw e;
      pollFds([{ fd, events: POLL.OUT }], -1);
    }
  }
}

/** One read; null at end of file or when the other side is gone (EIO from a pty master whose slave closed). */
function readSome(fd: number, buf: Uint8Array): Uint8Array | null | undefined {
  try {
    const n = read(fd, buf);
    return n === 0 ? null : buf.subarray(0, n);
  } catch (e) {
    if (isSysError(e, "EAGAIN")) return undefined;
    if (isSysError(e, "EIO")) return null;
    throw e;
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/** Waits for the process, relaying signals and the terminal; resolves to its exit code. */
export async function runForeground(opts: ForegroundOptions): Promise<number> {
  const { pid, master, host } = opts;
  const buf = new Uint8Array(32 * 1024);
  let saved: Uint8Array | undefined;
  const handlers: Array<[string, () => void]> = [];
  const on = (sig: string, fn: () => void) => {
    process.on(sig as NodeJS.Signals, fn);
    handlers.push([sig, fn]);
  };
  for (const s of FORWARDED) on(s, () => killProcess(pid, SIG[s]));
  try {
    let stdinOpen = master !== undefined;
    let masterOpen = master !== undefined;
    if (master !== undefined && host) {
      // As runc: no "\n" to "\r\n" on the pty (the caller's terminal does it), its size, raw mode.
      clearOnlcr(master);
      const resize = () => {
        try {
          const ws = getWinsize(host.fd);
          setWinsize(master, ws.rows, ws.cols);
        } catch {
          // A size we cannot read is no reason to stop the process.
        }
      };
      resize();
      on("SIGWINCH", resize);
      saved = getTermios(host.fd);
      setTermios(host.fd, makeRaw(saved));
    }
    let code: number | undefined;
    while (code === undefined) {
      const watched: Array<{ fd: number; events: number }> = [];
      if (stdinOpen) watched.push({ fd: 0, events: POLL.IN });
      if (masterOpen) watched.push({ fd: master!, events: POLL.IN });
      const revents = watched.length ? pollFds(watched, 50) : (await Bun.sleep(50), []);
      watched.forEach((w, i) => {
        if (!(revents[i]! & (POLL.IN | POLL.HUP | POLL.ERR))) return;
        const data = readSome(w.fd, buf);
        if (data === undefined) return;
        if (w.fd === 0) {
          if (data === null) stdinOpen = false;
          else writeFully(master!, data);
        } else if (data === null) masterOpen = false;
        else writeFully(1, data);
      });
      for (;;) {
        const r = waitpid(opts.reapAny ? -1 : pid, WAIT.WNOHANG);
        if (r.pid === 0) break;
        if (r.pid === pid) {
          code = exitCodeOf(r.status);
          break;
        }
      }
      await tick();
    }
    // What the process wrote just before it ended is still in the pty.
    while (masterOpen && pollFds([{ fd: master!, events: POLL.IN }], 100)[0]! !== 0) {
      const data = readSome(master!, buf);
      if (data === null) masterOpen = false;
      else if (data) writeFully(1, data);
    }
    return code;
  } finally {
    for (const [sig, fn] of handlers) process.off(sig as NodeJS.Signals, fn);
    if (saved && host) {
      try { setTermios(host.fd, saved); } catch { /* the terminal is gone */ }
    }
    if (host?.opened) close(host.fd);
    if (master !== undefined) close(master);
  }
}
