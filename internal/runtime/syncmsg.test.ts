import { afterEach, describe, expect, test } from "bun:test";
import { encodeFrame, FrameError } from "../ipc/mod.ts";
import { socketpair } from "../sys/socket.ts";
import { linuxSys } from "../sys/linux.ts";
import {
  awaitExecDone, awaitInitReady, awaitRequest, requestHooks, InitFailedError, InvalidMessageError, recvSync, sendSync, UnexpectedMessageError,
  type CreateMsg, type SyncMessage,
} from "./syncmsg.ts";

const sys = linuxSys;
let open: number[] = [];

/** A connected pair; the test writes on [1] and reads on [0]. */
function pair(): [number, number] {
  const p = socketpair();
  open.push(...p);
  return p;
}

function closeWriter(fd: number): void {
  sys.close(fd);
  open = open.filter((x) => x !== fd);
}

afterEach(() => {
  for (const fd of open) sys.close(fd);
  open = [];
});

const CREATE: CreateMsg = {
  t: "create", id: "c1", bundle: "/b", interceptFd: -1, fsBinds: [{ source: "/s", destination: "/proc/uptime" }],
  spec: { ociVersion: "1.1.0", hostname: "h" } as CreateMsg["spec"], rootfs: "/r", fifoFd: 4, consoleFd: -1, noPivot: false,
  userns: true, cgroupV1: null, cgroupV2Path: "/sys/fs/cgroup/x", cgroupns: true, cgroupDelegated: true, preserveFds: 0,
};

describe("framing and validation", () => {
  test("every message kind round-trips through one frame", () => {
    const [r, w] = pair();
    const msgs: SyncMessage[] = [
      CREATE,
      { t: "exec", id: "c1", interceptFd: 5, mntFd: 6, process: { cwd: "/", user: { uid: 0, gid: 0 }, args: ["sh"] }, consoleFd: -1, preserveFds: 2, spec: { ociVersion: "1.1.0" } as CreateMsg["spec"] },
      { t: "warn", msg: "w" }, { t: "ready", pid: 42 }, { t: "error", msg: "e" },
    ];
    for (const m of msgs) sendSync(sys, w, m);
    for (const m of msgs) expect(recvSync(sys, r)).toEqual(m);
  });

  test("EOF between frames is null; inside a frame it is an error", () => {
    const [r, w] = pair();
    const frame = encodeFrame({ t: "warn", msg: "cut" });
    sys.writeAll(w, frame.subarray(0, frame.length - 2));
    closeWriter(w);
    expect(() => recvSync(sys, r)).toThrow(InvalidMessageError);
    const [r2, w2] = pair();
    closeWriter(w2);
    expect(recvSync(sys, r2)).toBeNull();
  });

  test("a message missing a field, or of an unknown kind, names what is wrong", () => {
    const [r, w] = pair();
    sys.writeAll(w, encodeFrame({ t: "ready" }));
    sys.writeAll(w, encodeFrame({ t: "hello" }));
    sys.writeAll(w, encodeFrame({ ...CREATE, bundle: undefined }));
    expect(() => recvSync(sys, r)).toThrow(/bad message at pid/);
    expect(() => recvSync(sys, r)).toThrow(/bad message at t/);
    expect(() => recvSync(sys, r)).toThrow(/bad message at bundle/);
  });

  test("a length above the limit fails on the header, before any body is read", () => {
    const [r, w] = pair();
    sys.writeAll(w, new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
    expect(() => recvSync(sys, r)).toThrow(FrameError);
  });
});

describe("role helpers", () => {
  test("awaitInitReady passes warnings on and returns the init's pid", () => {
    const [r, w] = pair();
    sendSync(sys, w, { t: "warn", msg: "caps dropped" });
    sendSync(sys, w, { t: "ready", pid: 7 });
    const warned: string[] = [];
    expect(awaitInitReady(sys, r, (m) => warned.push(m))).toBe(7);
    expect(warned).toEqual(["caps dropped"]);
  });

  test("hooks: the init asks, the parent runs them and answers hooksDone, then the init goes on to ready", () => {
    const [parent, init] = pair();
    const ran: number[] = [];
    // The socket buffers the whole exchange, so one thread can play both ends in order.
    sendSync(sys, init, { t: "hooks", name: "createContainer", pid: 1 });
    sendSync(sys, init, { t: "ready", pid: 9 });
    expect(awaitInitReady(sys, parent, () => {}, (m) => ran.push(m.pid))).toBe(9);
    expect(ran).toEqual([1]);
    expect(recvSync(sys, init)).toEqual({ t: "hooksDone" });
  });

  test("requestHooks sends the request and returns on hooksDone; the parent gone is an error", () => {
    const [a, b] = pair();
    sendSync(sys, b, { t: "hooksDone" });
    requestHooks(sys, a, { t: "hooks", name: "createContainer", pid: 1 });
    expect(recvSync(sys, b)).toEqual({ t: "hooks", name: "createContainer", pid: 1 });
    closeWriter(b);
    // EPIPE on the request, or EOF on the answer: either way an error, never a hang.
    expect(() => requestHooks(sys, a, { t: "hooks", name: "createContainer", pid: 1 })).toThrow();
  });

  test("awaitInitReady: the init's error is an InitFailedError with its wording", () => {
    const [r, w] = pair();
    sendSync(sys, w, { t: "error", msg: "mount /x: EPERM" });
    expect(() => awaitInitReady(sys, r, () => {})).toThrow(new InitFailedError("mount /x: EPERM"));
  });

  test("awaitInitReady: an unexpected message or EOF is an UnexpectedMessageError with expected and received", () => {
    const [r, w] = pair();
    sendSync(sys, w, CREATE);
    let err: unknown;
    try { awaitInitReady(sys, r, () => {}); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnexpectedMessageError);
    expect(err).toMatchObject({ expected: ["warn", "ready", "error"], received: "create" });
    closeWriter(w);
    expect(() => awaitInitReady(sys, r, () => {})).toThrow("container init exited before it was ready");
  });

  test("awaitExecDone returns when the socket closes after ready (the execve)", () => {
    const [r, w] = pair();
    sendSync(sys, w, { t: "warn", msg: "w" });
    sendSync(sys, w, { t: "ready", pid: 9 });
    closeWriter(w);
    const warned: string[] = [];
    awaitExecDone(sys, r, (m) => warned.push(m));
    expect(warned).toEqual(["w"]);
  });

  test("awaitExecDone: a failed execve's error after ready is thrown", () => {
    const [r, w] = pair();
    sendSync(sys, w, { t: "ready", pid: 9 });
    sendSync(sys, w, { t: "error", msg: "exec: \"x\": executable file not found in $PATH" });
    expect(() => awaitExecDone(sys, r, () => {})).toThrow(InitFailedError);
  });

  test("awaitExecDone: a create message is unexpected", () => {
    const [r, w] = pair();
    sendSync(sys, w, CREATE);
    expect(() => awaitExecDone(sys, r, () => {})).toThrow(UnexpectedMessageError);
  });

  test("awaitRequest: the init accepts create or exec only", () => {
    const [r, w] = pair();
    sendSync(sys, w, CREATE);
    sendSync(sys, w, { t: "ready", pid: 1 });
    expect(awaitRequest(sys, r)).toEqual(CREATE);
    expect(() => awaitRequest(sys, r)).toThrow(UnexpectedMessageError);
    closeWriter(w);
    expect(awaitRequest(sys, r)).toBeNull();
  });
});
