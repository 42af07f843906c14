/**
 * Pseudo-terminals: open a master/slave pair (from /dev/ptmx or a given
 * devpts instance's ptmx), window size, controlling tty, and raw mode.
 * ioctl numbers are the asm-generic ones, shared by x86_64 and arm64.
 */
import { type Pointer } from "bun:ffi";
import { dirname, join } from "node:path";
import { libc, check } from "./libc.ts";
import { SysError } from "./errno.ts";
import { O_FLAGS, close, open } from "./fs.ts";

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TIOCSCTTY = 0x540e;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTPEER = 0x5441;

export interface Pty {
  master: number;
  slave: number;
  /** The slave's path as seen in the mount namespace that opened it. */
  slavePath: string;
}

function ioctl(fd: number, req: number, arg: Uint8Array | Int32Array | Uint16Array | null, what: string): number {
  return check({ syscall: `ioctl(${what})`, path: `fd ${fd}` }, () => libc.symbols.ioctl(fd, req, arg));
}

const PTY_FLAGS = O_FLAGS.RDWR | O_FLAGS.NOCTTY | O_FLAGS.CLOEXEC;

/** A new pty pair from /dev/ptmx; both fds are close-on-exec. */
export function openPty(): Pty {
  const master = check({ syscall: "posix_openpt", path: "/dev/ptmx" }, () => libc.symbols.posix_openpt(PTY_FLAGS));
  try {
    check({ syscall: "grantpt", path: `fd ${master}` }, () => libc.symbols.grantpt(master));
    check({ syscall: "unlockpt", path: `fd ${master}` }, () => libc.symbols.unlockpt(master));
    const buf = new Uint8Array(128);
    // ptsname_r returns the error number itself rather than -1.
    const e = libc.symbols.ptsname_r(master, buf, buf.length);
    if (e !== 0) throw new SysError({ syscall: "ptsname_r", errno: e, path: `fd ${master}` });
    const slavePath = new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
    return { master, slave: open(slavePath, PTY_FLAGS), slavePath };
  } catch (e) {
    close(master);
    throw e;
  }
}

/**
 * A new pty pair from a specific devpts instance, e.g. a container's
 * `/dev/pts/ptmx`: glibc's ptsname_r would always name the host's /dev/pts.
 * The slave is opened through the master (TIOCGPTPEER) so no path lookup can
 * race; `slavePath` is `<dir of ptmxPath>/<n>`.
 */
export function openPtyIn(ptmxPath: string): Pty {
  const master = open(ptmxPath, PTY_FLAGS);
  try {
    ioctl(master, TIOCSPTLCK, new Int32Array([0]), "TIOCSPTLCK");
    const n = new Uint32Array(1);
    ioctl(master, TIOCGPTN, new Uint8Array(n.buffer), "TIOCGPTN");
    const slavePath = join(dirname(ptmxPath), String(n[0]));
    // The third ioctl argument of TIOCGPTPEER is the open flags, passed by value.
    const slave = check({ syscall: "ioctl(TIOCGPTPEER)", path: slavePath }, () =>
      libc.symbols.ioctl(master, TIOCGPTPEER, PTY_FLAGS as Pointer),
    );
    return { master, slave, slavePath };
  } catch (e) {
    close(master);
    throw e;
  }
}

export interface Winsize {
  rows: number;
  cols: number;
}

/** struct winsize: u16 ws_row, ws_col, ws_xpixel, ws_ypixel. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  ioctl(fd, TIOCSWINSZ, new Uint16Array([rows, cols, 0, 0]), "TIOCSWINSZ");
}

export function getWinsize(fd: number): Winsize {
  const ws = new Uint16Array(4);
  ioctl(fd, TIOCGWINSZ, ws, "TIOCGWINSZ");
  return { rows: ws[0]!, cols: ws[1]! };
}

/** Makes `fd` the controlling terminal of this session (call after setsid). */
export function setControllingTty(fd: number): void {
  ioctl(fd, TIOCSCTTY, null, "TIOCSCTTY");
}

/*
 * Kernel struct termios (TCGETS/TCSETS), 36 bytes:
 *   0 u32 c_iflag   4 u32 c_oflag   8 u32 c_cflag   12 u32 c_lflag
 *  16 u8 c_line    17 u8 c_cc[19]   (VTIME = c_cc[5], VMIN = c_cc[6])
 */
const TERMIOS_SIZE = 36;
const I = { IGNBRK: 0o1, BRKINT: 0o2, PARMRK: 0o10, ISTRIP: 0o40, INLCR: 0o100, IGNCR: 0o200, ICRNL: 0o400, IXON: 0o2000 };
const OPOST = 0o1;
const ONLCR = 0o4;
const C = { CSIZE: 0o60, CS8: 0o60, PARENB: 0o400 };
const L = { ISIG: 0o1, ICANON: 0o2, ECHO: 0o10, ECHONL: 0o100, IEXTEN: 0o100000 };
const VTIME = 17 + 5;
const VMIN = 17 + 6;

/** cfmakeraw(3) applied to a copy of a kernel termios. */
export function makeRaw(termios: Uint8Array): Uint8Array {
  const t = termios.slice();
  const v = new DataView(t.buffer);
  const and = (off: number, mask: number) => v.setUint32(off, v.getUint32(off, true) & ~mask, true);
  and(0, I.IGNBRK | I.BRKINT | I.PARMRK | I.ISTRIP | I.INLCR | I.IGNCR | I.ICRNL | I.IXON);
  and(4, OPOST);
  and(8, C.CSIZE | C.PARENB);
  v.setUint32(8, v.getUint32(8, true) | C.CS8, true);
  and(12, L.ECHO | L.ECHONL | L.ICANON | L.ISIG | L.IEXTEN);
  t[VMIN] = 1;
  t[VTIME] = 0;
  return t;
}

export function getTermios(fd: number): Uint8Array {
  const t = new Uint8Array(TERMIOS_SIZE);
  ioctl(fd, TCGETS, t, "TCGETS");
  return t;
}

export function setTermios(fd: number, termios: Uint8Array): void {
  ioctl(fd, TCSETS, termios, "TCSETS");
}

/** Puts `fd` in raw mode and returns the previous settings for `setTermios`. */
export function setRawMode(fd: number): Uint8Array {
  const old = getTermios(fd);
  setTermios(fd, makeRaw(old));
  return old;
}

/** Stops the tty turning "\n" into "\r\n" on output (runc does this to its pty). */
export function clearOnlcr(fd: number): void {
  const t = getTermios(fd);
  const v = new DataView(t.buffer);
  v.setUint32(4, v.getUint32(4, true) & ~ONLCR, true);
  setTermios(fd, t);
}
