/**
 * The registration protocol of <run-dir>/sysfs-seccomp.sock: one request and
 * one reply per connection, each a frame of internal/ipc/frame.ts (uint32 BE
 * length, then one CBOR item). The notify fd rides as SCM_RIGHTS on the
 * sendmsg that carries the request's first byte. Pure: no sockets here.
 *
 *   sysbox-runc (host)        container init (after pivot_root)        sysbox-fs
 *   connectInterceptor() ----------------- connect ------------------->  accept
 *        | passes the connected fd to the init (inherited, no CLOEXEC)
 *        |                    installNotifyFilter() -> notify fd
 *        |                    sendNotifyFd(sock, fd, meta)
 *        |                      --- request frame + SCM_RIGHTS(fd) ---->  pid from SCM_CREDENTIALS,
 *        |                                                                read /proc/PID/mountinfo,
 *        |                                                                check the ids, poll the fd
 *        |                      <------------- "ack" -----------------
 *        |                    close(sock), execve(user process)
 *
 * request  {v: 1, kind: "init", containerId, mounts: {root, proc?, sys?, readonly: [id...]}}
 *        | {v: 1, kind: "exec", containerId, mounts?}  (a process exec'd into a container; its mounts
 *                                                      stand in for the init's after a sysbox-fs restart)
 * reply    "ack" | {error: "<why the registration was refused>"}
 *
 * Mount ids are field 1 of the init's /proc/self/mountinfo, taken right
 * before the user process execs. The registering process is identified by
 * the kernel (SCM_CREDENTIALS, translated into sysbox-fs's pid namespace),
 * never by the message.
 */
import * as v from "valibot";
import { encodeFrame } from "../ipc/mod.ts";

/** Largest request or reply accepted: a container has at most a few thousand mounts. */
export const MAX_REGISTRATION_FRAME = 64 * 1024;

/** The reply of a registration that was accepted. */
export const ACK = "ack";

const MountId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0x7fff_ffff));
const ContainerId = v.pipe(v.string(), v.minLength(1), v.maxLength(1024), v.check((s) => !/[\0/]/.test(s), "must not contain NUL or /"));

export const RegisterMountsSchema = v.object({
  /** The container's root mount. */
  root: MountId,
  proc: v.optional(MountId),
  sys: v.optional(MountId),
  /** Every mount the runtime made read-only. */
  readonly: v.pipe(v.array(MountId), v.maxLength(8192)),
});

export const RegisterRequestSchema = v.variant("kind", [
  v.object({ v: v.literal(1), kind: v.literal("init"), containerId: ContainerId, mounts: RegisterMountsSchema }),
  v.object({ v: v.literal(1), kind: v.literal("exec"), containerId: ContainerId, mounts: v.optional(RegisterMountsSchema) }),
]);

export type RegisterMounts = v.InferOutput<typeof RegisterMountsSchema>;
export type RegisterRequest = v.InferOutput<typeof RegisterRequestSchema>;
export type RegisterReply = { ok: true } | { ok: false; error: string };

/** A request the interceptor cannot read; the message says which field. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export function encodeRequest(req: RegisterRequest): Uint8Array {
  return encodeFrame(v.parse(RegisterRequestSchema, req), { maxFrame: MAX_REGISTRATION_FRAME });
}

/** Checks a decoded request frame against the schema. */
export function parseRequest(raw: unknown): RegisterRequest {
  const r = v.safeParse(RegisterRequestSchema, raw);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const at = issue.path?.map((p) => String(p.key)).join(".") || "request";
  throw new BadRequestError(`bad registration request: ${at}: ${issue.message}`);
}

export function encodeReply(reply: RegisterReply): Uint8Array {
  return encodeFrame(reply.ok ? ACK : { error: reply.error }, { maxFrame: MAX_REGISTRATION_FRAME });
}

export function parseReply(raw: unknown): RegisterReply {
  if (raw === ACK) return { ok: true };
  if (typeof raw === "object" && raw !== null && typeof (raw as { error?: unknown }).error === "string") {
    return { ok: false, error: (raw as { error: string }).error };
  }
  throw new BadRequestError(`unexpected reply from the interceptor: ${JSON.stringify(raw)}`);
}
