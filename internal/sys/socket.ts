/**
 * Unix sockets: socketpair, listen/connect/accept on a path, and passing fds
 * with SCM_RIGHTS. The struct encoders are pure and tested byte by byte.
 * Sockets are blocking unless SOCK.NONBLOCK is asked for.
 */
import { ptr } from "bun:ffi";
import { libc, check } from "./libc.ts";
import { formatFlags } from "./flags.ts";
import { pinned } from "./_pin.ts";

export const AF_UNIX = 1;
export const SOCK = { STREAM: 1, DGRAM: 2, SEQPACKET: 5, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;
export const MSG = {
  OOB: 0x1, PEEK: 0x2, CTRUNC: 0x8, TRUNC: 0x20, DONTWAIT: 0x40, WAITALL: 0x100, NOSIGNAL: 0x4000,
  CMSG_CLOEXEC: 0x40000000,
} as const;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/** sizeof(sun_path): the longest path, including its NUL, that fits a sockaddr_un. */
export const UNIX_PATH_MAX = 108;

/*
 * Byte layouts on LP64 (x86_64, arm64), little-endian:
 *
 * struct sockaddr_un (110 bytes)     struct iovec (16 bytes)
 *   0  u16 sun_family = AF_UNIX        0  void  *iov_base
 *   2  char sun_path[108]              8  size_t iov_len
 *
 * struct msghdr (56 bytes)
 *   0  void   *msg_name        8  u32 msg_namelen (+4 pad)
 *  16  iovec  *msg_iov        24  size_t msg_iovlen
 *  32  void   *msg_control    40  size_t msg_controllen
 *  48  i32     msg_flags (+4 pad)
 *
 * struct cmsghdr, then its data padded to 8 (CMSG_SPACE)
 *   0  size_t cmsg_len = 16 + 4*nfds (CMSG_LEN)
 *   8  i32 cmsg_level = SOL_SOCKET    12  i32 cmsg_type = SCM_RIGHTS
 *  16  i32 fds[nfds]
 */
const CMSG_HDR = 16;
const MSGHDR_SIZE = 56;
const IOVEC_SIZE = 16;

export const CMSG_LEN = (dataLen: number): number => CMSG_HDR + dataLen;
export const CMSG_SPACE = (dataLen: number): number => CMSG_HDR + ((dataLen + 7) & ~7);

/** A sockaddr_un for `path` and the length to pass with it. A leading "\0" means an abstract name. */
export function encodeSockaddrUn(path: string): { addr: Uint8Array; len: number } {
  const bytes = new TextEncoder().encode(path);
  const abstract = bytes[0] === 0;
  if (bytes.length === 0 || bytes.length + (abstract ? 0 : 1) > UNIX_PATH_MAX) {
    throw new RangeError(`Unix socket path must be 1-${UNIX_PATH_MAX - 1} bytes, got ${bytes.length}: "${path}"`);
  }
  const addr = new Uint8Array(2 + UNIX_PATH_MAX);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return { addr, len: 2 + bytes.length + (abstract ? 0 : 1) };
}

/** One SOL_SOCKET/SCM_RIGHTS control message carrying `fds`. */
export function encodeRights(fds: readonly number[]): Uint8Array {
  const buf = new Uint8Array(CMSG_SPACE(4 * fds.length));
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, BigInt(CMSG_LEN(4 * fds.length)), true);
  v.setInt32(8, SOL_SOCKET, true);
  v.setInt32(12, SCM_RIGHTS, true);
  fds.forEach((fd, i) => v.setInt32(CMSG_HDR + 4 * i, fd, true));
  return buf;
}

/** The fds of every SCM_RIGHTS message in the first `len` bytes of a control buffer. */
export function decodeRights(control: Uint8Array, len: number): number[] {
  const v = new DataView(control.buffer, control.byteOffset, control.byteLength);
  const fds: number[] = [];
  for (let off = 0; off + CMSG_HDR <= len; ) {
    const cmsgLen = Number(v.getBigUint64(off, true));
    if (cmsgLen < CMSG_HDR || off + cmsgLen > len) break;
    if (v.getInt32(off + 8, true) === SOL_SOCKET && v.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + CMSG_HDR; p + 4 <= off + cmsgLen; p += 4) fds.push(v.getInt32(p, true));
    }
    off += CMSG_SPACE(cmsgLen - CMSG_HDR);
  }
  return fds;
}

export interface MsghdrFields {
  iov: number;
  iovlen: number;
  control?: number;
  controllen?: number;
}

/** A struct msghdr with no name; pointers are addresses from `ptr()`. */
export function encodeMsghdr(m: MsghdrFields): Uint8Array {
  const buf = new Uint8Array(MSGHDR_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(16, BigInt(m.iov), true);
  v.setBigUint64(24, BigInt(m.iovlen), true);
  v.setBigUint64(32, BigInt(m.control ?? 0), true);
  v.setBigUint64(40, BigInt(m.controllen ?? 0), true);
  return buf;
}

export function encodeIovec(base: number, len: number): Uint8Array {
  const buf = new Uint8Array(IOVEC_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, BigInt(base), true);
  v.setBigUint64(8, BigInt(len), true);
  return buf;
}

function fdDesc(fd: number): string {
  return `fd ${fd}`;
}

/** Returns two connected ends. */
export function socketpair(type: number = SOCK.STREAM | SOCK.CLOEXEC): [number, number] {
  const sv = new Int32Array(2);
  check({ syscall: "socketpair", flags: formatFlags(SOCK, type, "SOCK_") }, () => libc.symbols.socketpair(AF_UNIX, type, 0, sv));
  return [sv[0]!, sv[1]!];
}

export function unixConnect(path: string, type: number = SOCK.STREAM | SOCK.CLOEXEC): number {
  const { addr, len } = encodeSockaddrUn(path);
  const fd = check({ syscall: "socket", path }, () => libc.symbols.socket(AF_UNIX, type, 0));
  try {
    check({ syscall: "connect", path }, () => libc.symbols.connect(fd, addr, len));
  } catch (e) {
    libc.symbols.close(fd);
    throw e;
  }
  return fd;
}

/** Binds and listens on `path`, which must not exist yet. */
export function unixListen(path: string, backlog = 16, type: number = SOCK.STREAM | SOCK.CLOEXEC): number {
  const { addr, len } = encodeSockaddrUn(path);
  const fd = check({ syscall: "socket", path }, () => libc.symbols.socket(AF_UNIX, type, 0));
  try {
    check({ syscall: "bind", path }, () => libc.symbols.bind(fd, addr, len));
    check({ syscall: "listen", path }, () => libc.symbols.listen(fd, backlog));
  } catch (e) {
    libc.symbols.close(fd);
    throw e;
  }
  return fd;
}

export function accept(fd: number, flags: number = SOCK.CLOEXEC): number {
  return check({ syscall: "accept4", path: fdDesc(fd) }, () => libc.symbols.accept4(fd, null, null, flags));
}

function sendmsg(sock: number, data: Uint8Array, control: Uint8Array | null, what: string): number {
  const iov = encodeIovec(ptr(data), data.length);
  const hdr = encodeMsghdr({
    iov: ptr(iov), iovlen: 1, ...(control ? { control: ptr(control), controllen: control.length } : {}),
  });
  return pinned([data, iov, control], () =>
    Number(check({ syscall: what, path: fdDesc(sock) }, () => libc.symbols.sendmsg(sock, hdr, MSG.NOSIGNAL))),
  );
}

/** Sends `data` (at least one byte: the fds ride along with it) and `fds`; returns bytes sent. */
export function sendFds(sock: number, fds: readonly number[], data: Uint8Array): number {
  if (data.length === 0) throw new RangeError("sendFds needs at least one data byte to carry the fds");
  return sendmsg(sock, data, fds.length ? encodeRights(fds) : null, "sendmsg(SCM_RIGHTS)");
}

export interface Received {
  /** The bytes read; empty at end of stream. */
  data: Uint8Array;
  /** Received fds, close-on-exec. */
  fds: number[];
  /** The sender passed more fds than `maxFds`; the kernel closed the rest. */
  truncated: boolean;
}

/** One recvmsg() of up to `bufSize` bytes and `maxFds` fds. */
export function recvFds(sock: number, maxFds: number, bufSize = 4096): Received {
  const data = new Uint8Array(bufSize);
  const control = new Uint8Array(CMSG_SPACE(4 * maxFds));
  const iov = encodeIovec(ptr(data), data.length);
  // CMSG_LEN, not CMSG_SPACE: the kernel fills the padding with fds too, beyond maxFds.
  const hdr = encodeMsghdr({ iov: ptr(iov), iovlen: 1, control: ptr(control), controllen: CMSG_LEN(4 * maxFds) });
  const n = pinned([data, iov, control], () =>
    Number(check({ syscall: "recvmsg", path: fdDesc(sock) }, () => libc.symbols.recvmsg(sock, hdr, MSG.CMSG_CLOEXEC))),
  );
  const v = new DataView(hdr.buffer);
  const fds = decodeRights(control, Number(v.getBigUint64(40, true)));
  return { data: data.subarray(0, n), fds, truncated: (v.getInt32(48, true) & MSG.CTRUNC) !== 0 };
}

/** Sends bytes without raising SIGPIPE on a closed peer (EPIPE instead). */
export function send(sock: number, data: Uint8Array): number {
  return sendmsg(sock, data, null, "sendmsg");
}

/** Reads up to `buf.length` bytes; 0 means the peer closed. */
export function recv(sock: number, buf: Uint8Array): number {
  const iov = encodeIovec(ptr(buf), buf.length);
  const hdr = encodeMsghdr({ iov: ptr(iov), iovlen: 1 });
  return pinned([buf, iov], () =>
    Number(check({ syscall: "recvmsg", path: fdDesc(sock) }, () => libc.symbols.recvmsg(sock, hdr, 0))),
  );
}

// ---- SCM_CREDENTIALS ----

const SO_PASSCRED = 16;
const SCM_CREDENTIALS = 2;
const UCRED_SIZE = 12; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }

/** The sender of a message as the kernel reports it, translated into the receiver's namespaces. */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * SO_PASSCRED: every message received on `sock` (and on sockets accepted
 * from it) carries its sender's pid, uid and gid (unix(7)).
 */
export function setPassCred(sock: number, on = true): void {
  const v = new Int32Array([on ? 1 : 0]);
  check({ syscall: "setsockopt(SO_PASSCRED)", path: fdDesc(sock) }, () => libc.symbols.setsockopt(sock, SOL_SOCKET, SO_PASSCRED, v, 4));
}

/** The first SCM_CREDENTIALS message in the first `len` bytes of a control buffer. */
export function decodeCreds(control: Uint8Array, len: number): Ucred | undefined {
  const v = new DataView(control.buffer, control.byteOffset, control.byteLength);
  for (let off = 0; off + CMSG_HDR <= len; ) {
    const cmsgLen = Number(v.getBigUint64(off, true));
    if (cmsgLen < CMSG_HDR || off + cmsgLen > len) break;
    if (v.getInt32(off + 8, true) === SOL_SOCKET && v.getInt32(off + 12, true) === SCM_CREDENTIALS && cmsgLen >= CMSG_LEN(UCRED_SIZE)) {
      return { pid: v.getInt32(off + 16, true), uid: v.getUint32(off + 20, true), gid: v.getUint32(off + 24, true) };
    }
    off += CMSG_SPACE(cmsgLen - CMSG_HDR);
  }
  return undefined;
}

/**
 * One recvmsg() of up to `bufSize` bytes and `maxFds` fds on a socket with
 * SO_PASSCRED, also returning the sender's credentials. `flags` may add
 * MSG.DONTWAIT (EAGAIN then throws SysError).
 */
export function recvFdsCreds(sock: number, maxFds: number, bufSize = 4096, flags = 0): Received & { creds?: Ucred } {
  const data = new Uint8Array(bufSize);
  // The kernel writes SCM_CREDENTIALS before SCM_RIGHTS; CMSG_LEN for the
  // rights part keeps it from passing more than maxFds (see recvFds).
  const control = new Uint8Array(CMSG_SPACE(UCRED_SIZE) + CMSG_SPACE(4 * maxFds));
  const iov = encodeIovec(ptr(data), data.length);
  const hdr = encodeMsghdr({ iov: ptr(iov), iovlen: 1, control: ptr(control), controllen: CMSG_SPACE(UCRED_SIZE) + CMSG_LEN(4 * maxFds) });
  const n = pinned([data, iov, control], () =>
    Number(check({ syscall: "recvmsg", path: fdDesc(sock) }, () => libc.symbols.recvmsg(sock, hdr, MSG.CMSG_CLOEXEC | flags))),
  );
  const v = new DataView(hdr.buffer);
  const clen = Number(v.getBigUint64(40, true));
  const creds = decodeCreds(control, clen);
  return {
    data: data.subarray(0, n),
    fds: decodeRights(control, clen),
    truncated: (v.getInt32(48, true) & MSG.CTRUNC) !== 0,
    ...(creds ? { creds } : {}),
  };
}
