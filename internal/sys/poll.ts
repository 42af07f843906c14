/**
 * poll(2) on one fd: how a blocking reader (the D-Bus client) waits with a
 * deadline instead of hanging in recvmsg when the peer never answers.
 */
import { libc, check } from "./libc.ts";

/** Event bits of `struct pollfd` (poll.h; the same on every Linux architecture). */
export const POLL = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, NVAL: 0x20 } as const;

/*
 * struct pollfd (8 bytes)
 *   0  i32 fd    4  i16 events    6  i16 revents
 */
export function encodePollfd(fd: number, events: number): Uint8Array {
  const buf = new Uint8Array(8);
  const v = new DataView(buf.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, events, true);
  return buf;
}

/**
 * Waits until `fd` has one of `events` (ERR/HUP/NVAL are always reported) or
 * `timeoutMs` passes (-1: forever). Returns the revents bits, 0 on timeout.
 */
export function pollFd(fd: number, events: number, timeoutMs: number): number {
  const pfd = encodePollfd(fd, events);
  const ms = timeoutMs < 0 ? -1 : Math.min(Math.ceil(timeoutMs), 0x7fffffff);
  const n = check({ syscall: "poll", path: `fd ${fd}` }, () => libc.symbols.poll(pfd, 1n, ms));
  return n === 0 ? 0 : new DataView(pfd.buffer).getInt16(6, true) & 0xffff;
}

/**
 * poll(2) on several fds at once (a foreground terminal's stdin and pty
 * master); returns each fd's revents, in order, all 0 on timeout.
 */
export function pollFds(fds: ReadonlyArray<{ fd: number; events: number }>, timeoutMs: number): number[] {
  if (fds.length === 0) throw new RangeError("pollFds needs at least one fd");
  const buf = new Uint8Array(8 * fds.length);
  fds.forEach((p, i) => buf.set(encodePollfd(p.fd, p.events), 8 * i));
  const ms = timeoutMs < 0 ? -1 : Math.min(Math.ceil(timeoutMs), 0x7fffffff);
  check({ syscall: "poll", path: fds.map((p) => `fd ${p.fd}`).join(",") }, () => libc.symbols.poll(buf, BigInt(fds.length), ms));
  const v = new DataView(buf.buffer);
  return fds.map((_, i) => v.getInt16(8 * i + 6, true) & 0xffff);
}
