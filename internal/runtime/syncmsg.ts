/**
 * The contract between the sysbox-runc parent and the container's init stage
 * (sysbox-runc re-executed by internal/ns/nsexec.c) on the inherited sync
 * socket: one message union, each message checked against its valibot schema
 * on receive, framed with internal/ipc's frame code.
 *
 *   parent (create / exec)                 init (in the container's namespaces)
 *     |<------------- HELLO ------------------|  12 bytes, nsexec.c (awaitExec)
 *     |--- create{id, bundle, spec, fds...} ->|  or exec{id, process, fds...}
 *     |                                       |  create: mountSpec, applySysctls,
 *     |                                       |  bindEmulated, makeDevices, hooks,
 *     |                                       |  pivot, setHostname, maskAndRo,
 *     |                                       |  console, prepareProcess
 *     |<------ hooks{name, pid} --------------|  create, before pivot_root: the
 *     |------- hooksDone -------------------->|  parent runs the createContainer hooks
 *     |<------------ warn{msg} ---------------|  0..n
 *     |<------------ ready{pid} --------------|  create: then blocks on exec.fifo
 *     |<------------ error{msg} --------------|  instead of ready, on failure
 *     |<------------ (EOF) -------------------|  exec: closed by a good execve;
 *                                                an error{msg} first if it failed
 *
 * Each message is one frame (see internal/ipc/frame.ts):
 *
 *   +----------------+-------------------------------+
 *   | u32 BE length  | CBOR map {t: kind, ...fields} |
 *   +----------------+-------------------------------+
 *
 * Both ends use blocking reads of exactly one frame: each side has nothing
 * else to do meanwhile, and nothing past the frame is consumed.
 */
// frame.ts itself, not ipc/mod.ts: the init loads this on every container
// start, and mod.ts would pull in the socket client and server too.
import { FrameDecoder, HEADER_SIZE, encodeFrame } from "../ipc/mod.ts";
import * as v from "valibot";
import type { Spec } from "./spec.ts";
import type { ProcessSpec } from "./process.ts";
import type { CgroupMountInfo } from "./rootfs.ts";
import type { Sys } from "../sys/linux.ts";
import type { TrapGroup } from "../intercept/mod.ts";

/** The create message carries the whole spec: well above ipc's 1 MiB default is allowed. */
export const MAX_SYNC_FRAME = 16 << 20;

const fd = v.pipe(v.number(), v.integer(), v.minValue(-1));
// The spec and process were validated by internal/oci when the parent read them.
const specObject = v.custom<Spec>((x) => typeof x === "object" && x !== null && !Array.isArray(x), "must be an object");
const processObject = v.custom<ProcessSpec>((x) => typeof x === "object" && x !== null && !Array.isArray(x), "must be an object");

const TrapsSchema = v.array(v.picklist(["chown", "xattr"] as const satisfies readonly TrapGroup[]));

const CgroupMountInfoSchema = v.object({
  name: v.string(), options: v.string(), hostPath: v.string(), links: v.array(v.string()),
});

/** The OCI seccomp agent's connected socket and the state message to send with the listener (seccomp_agent.ts). */
const SeccompAgentSchema = v.optional(v.nullable(v.object({ fd, state: v.string() })));

/** Parent -> init: build the container and wait for `start`. */
export const CreateMsgSchema = v.object({
  t: v.literal("create"),
  /** The container id and bundle, for the createContainer and startContainer hooks. */
  id: v.string(),
  bundle: v.string(),
  /** Connected to sysbox-fs's seccomp socket by the parent, or -1. */
  interceptFd: fd,
  /** Syscall groups the notify filter traps besides mount and umount (the container's SYSBOX_* settings). */
  traps: v.optional(TrapsSchema),
  /** sysbox-fs files to bind over /proc and /sys entries (skipped where the container has no such entry). */
  fsBinds: v.array(v.object({ source: v.string(), destination: v.string() })),
  spec: specObject,
  rootfs: v.string(),
  fifoFd: fd,
  consoleFd: fd,
  noPivot: v.boolean(),
  userns: v.boolean(),
  cgroupV1: v.nullable(v.array(CgroupMountInfoSchema)),
  cgroupV2Path: v.string(),
  cgroupns: v.boolean(),
  cgroupDelegated: v.boolean(),
  preserveFds: v.pipe(v.number(), v.integer(), v.minValue(0)),
  seccompAgent: SeccompAgentSchema,
});

/** Parent -> init: become a new process in the running container. */
export const ExecMsgSchema = v.object({
  t: v.literal("exec"),
  id: v.string(),
  interceptFd: fd,
  traps: v.optional(TrapsSchema),
  /** The container's mount namespace, to enter first; -1 if it shares the host's. */
  mntFd: fd,
  process: processObject,
  consoleFd: fd,
  preserveFds: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Container spec defaults that exec processes inherit (seccomp, no_new_privs...). */
  spec: specObject,
  seccompAgent: SeccompAgentSchema,
});

/** Init -> parent: something the user should see; the parent logs it. */
export const WarnMsgSchema = v.object({ t: v.literal("warn"), msg: v.string() });
/** Init -> parent: prepared; for create, now waiting on the exec fifo. */
export const ReadyMsgSchema = v.object({ t: v.literal("ready"), pid: v.pipe(v.number(), v.integer()) });
/** Init -> parent: the step that failed, worded for the user. */
export const ErrorMsgSchema = v.object({ t: v.literal("error"), msg: v.string() });

/** Init -> parent: run these hooks now (in my namespaces), then answer hooksDone; `pid` is mine as the hooks see it. */
export const HooksMsgSchema = v.object({ t: v.literal("hooks"), name: v.literal("createContainer"), pid: v.pipe(v.number(), v.integer()) });
/** Parent -> init: the hooks ran and succeeded (on failure the parent ends the create, and the init with it). */
export const HooksDoneMsgSchema = v.object({ t: v.literal("hooksDone") });

export const SyncMessageSchema = v.variant("t", [CreateMsgSchema, ExecMsgSchema, WarnMsgSchema, ReadyMsgSchema, ErrorMsgSchema, HooksMsgSchema, HooksDoneMsgSchema]);
export type HooksMsg = v.InferOutput<typeof HooksMsgSchema>;

export type CreateMsg = v.InferOutput<typeof CreateMsgSchema> & { cgroupV1: CgroupMountInfo[] | null };
export type ExecMsg = v.InferOutput<typeof ExecMsgSchema>;
export type SyncMessage = v.InferOutput<typeof SyncMessageSchema>;
export type SyncKind = SyncMessage["t"];

/** A well-formed message that this role does not expect at this point. */
export class UnexpectedMessageError extends Error {
  override name = "UnexpectedMessageError";
  readonly expected: readonly string[];
  /** The kind received, or "EOF" when the other end closed. */
  readonly received: string;
  constructor(expected: readonly string[], received: string, message?: string) {
    super(message ?? `sync socket: expected ${expected.join(" or ")}, received ${received}`);
    this.expected = expected;
    this.received = received;
  }
}

/** A frame whose payload is not one of the union's messages. */
export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
}

/** The init reported a failure; the message is the init's own wording. */
export class InitFailedError extends Error {
  override name = "InitFailedError";
}

/** The part of Sys the channel uses; tests may pass a pair of socket ends. */
export type SyncIo = Pick<Sys, "read" | "writeAll">;

export function sendSync(io: SyncIo, fd: number, msg: SyncMessage): void {
  io.writeAll(fd, encodeFrame(msg, { maxFrame: MAX_SYNC_FRAME }));
}

function readExact(io: SyncIo, fd: number, n: number): Uint8Array | null {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = io.read(fd, buf.subarray(got));
    if (r === 0) {
      if (got === 0) return null;
      throw new InvalidMessageError(`sync socket: truncated frame (${got} of ${n} bytes)`);
    }
    got += r;
  }
  return buf;
}

/** The next message, validated; null when the other end closed between frames. */
export function recvSync(io: SyncIo, fd: number): SyncMessage | null {
  const decoder = new FrameDecoder({ maxFrame: MAX_SYNC_FRAME });
  const head = readExact(io, fd, HEADER_SIZE);
  if (!head) return null;
  // The decoder checks the length against the limit (FrameError) before we wait for the body.
  const none = [...decoder.push(head)];
  if (none.length !== 0) throw new RangeError("a frame header alone completed a frame");
  const body = readExact(io, fd, new DataView(head.buffer).getUint32(0, false));
  if (!body) throw new InvalidMessageError("sync socket: truncated frame (header only)");
  const [raw] = [...decoder.push(body)];
  const r = v.safeParse(SyncMessageSchema, raw);
  if (!r.success) {
    const issue = r.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new InvalidMessageError(`sync socket: bad message${where ? ` at ${where}` : ""}: ${issue.message}`);
  }
  return r.output;
}

/**
 * Parent side of create: logs warnings until the init is ready; returns the
 * init's pid. Throws InitFailedError on its error, UnexpectedMessageError on
 * anything else (EOF included: the init died before it was ready).
 */
export function awaitInitReady(io: SyncIo, fd: number, onWarn: (msg: string) => void, onHooks?: (m: HooksMsg) => void): number {
  for (;;) {
    const m = recvSync(io, fd);
    if (m === null) throw new UnexpectedMessageError(["warn", "ready", "error"], "EOF", "container init exited before it was ready");
    if (m.t === "warn") onWarn(m.msg);
    else if (m.t === "hooks" && onHooks) {
      onHooks(m);
      sendSync(io, fd, { t: "hooksDone" });
    }
    else if (m.t === "ready") return m.pid;
    else if (m.t === "error") throw new InitFailedError(m.msg);
    else throw new UnexpectedMessageError(["warn", "ready", "error"], m.t);
  }
}

/**
 * Parent side of exec: logs warnings and waits for the socket to close, which
 * the init's successful execve does (its end is close-on-exec). Throws
 * InitFailedError on an error (before ready, or from a failed execve).
 */
export function awaitExecDone(io: SyncIo, fd: number, onWarn: (msg: string) => void): void {
  for (;;) {
    const m = recvSync(io, fd);
    if (m === null) return;
    if (m.t === "warn") onWarn(m.msg);
    else if (m.t === "error") throw new InitFailedError(m.msg);
    else if (m.t !== "ready") throw new UnexpectedMessageError(["warn", "ready", "error", "EOF"], m.t);
  }
}

/** Init side: asks the parent to run hooks and waits until they ran. */
export function requestHooks(io: SyncIo, fd: number, m: HooksMsg): void {
  sendSync(io, fd, m);
  const r = recvSync(io, fd);
  if (r === null) throw new UnexpectedMessageError(["hooksDone"], "EOF", `the runtime ended while the ${m.name} hooks ran`);
  if (r.t !== "hooksDone") throw new UnexpectedMessageError(["hooksDone"], r.t);
}

/** Init side: the parent's one request; null when the parent went away first. */
export function awaitRequest(io: SyncIo, fd: number): CreateMsg | ExecMsg | null {
  const m = recvSync(io, fd);
  if (m === null) return null;
  if (m.t === "create" || m.t === "exec") return m as CreateMsg | ExecMsg;
  throw new UnexpectedMessageError(["create", "exec"], m.t);
}
