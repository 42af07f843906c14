/**
 * The message registry of the daemon sockets: every request type, the valibot
 * schemas of its body and of its response body, and which daemon serves it.
 * Both ends validate what they receive against this table.
 *
 * Each frame (see frame.ts) carries one envelope, a CBOR map:
 *
 *   request   {id: uint >= 1, type: string, body: <request schema of type>}
 *   response  {id, ok: true,  body: <response schema of type>}
 *           | {id, ok: false, error: {code: string, message: string}}
 *
 *   sysbox-runc                                 sysbox-mgr / sysbox-fs
 *       |---- {id:1, type:"status", body:{}} ------------>|
 *       |---- {id:2, type:...} -------------------------->|  many in flight
 *       |<--- {id:2, ok:true, body:{...}} ----------------|  replies in any order
 *       |<--- {id:1, ok:true, body:{daemon:...}} ---------|
 *
 * Id 0 is reserved for connection-level errors (a bad frame, an envelope
 * without a usable id); the server closes the connection after sending one.
 *
 * Adding a message: add an entry to MESSAGES, add its name to the daemon's
 * union in DaemonMessages, and the compiler then asks for its handler in that
 * daemon's handler table.
 */
import * as v from "valibot";

/** Schemas for one request type: the body the client sends, the body it gets back. */
export interface MessageSpec {
  request: v.GenericSchema;
  response: v.GenericSchema;
}

const uint = () => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));

const IdSpanSchema = v.object({ start: uint(), size: uint() });

const StatusResponse = v.object({
  daemon: v.string(),
  version: v.string(),
  commit: v.string(),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  uptimeSeconds: v.pipe(v.number(), v.minValue(0)),
  /** sysbox-mgr only: what it holds. */
  mgr: v.optional(
    v.object({
      containers: uint(),
      /** Blocks of `rangeSize` ids handed out, and how many sysbox's subuid ranges hold. */
      rangesUsed: uint(),
      rangesTotal: uint(),
      rangeSize: uint(),
      /** Sysbox's ranges in /etc/subuid and /etc/subgid (the same for both). */
      idRanges: v.array(IdSpanSchema),
    }),
  ),
  /** sysbox-fs only: containers with a FUSE mount. */
  fs: v.optional(v.object({ containers: uint() })),
});

// ---- sysbox-mgr: container registration (sequence in internal/mgr/mod.ts) ----

/** A container id as sysbox-runc accepts it; it becomes a path component under the data root. */
const ContainerId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, "must be letters, digits and _ . + - (not first)"), v.maxLength(1024));
const AbsPath = v.pipe(v.string(), v.startsWith("/", "must be an absolute path"), v.check((s) => !s.includes("\0"), "must not contain NUL"));
const IdMapping = v.object({ uid: uint(), gid: uint(), size: v.pipe(uint(), v.minValue(1)) });

/** Host dirs sysbox-mgr keeps per container for inner engines' storage; see internal/mgr/dirs.ts. */
export const MGR_MOUNT_KINDS = ["docker", "containerd", "kubelet", "buildkit", "rancher-k3s", "k0s"] as const;
export type MgrMountKind = (typeof MGR_MOUNT_KINDS)[number];
/** Where each kind is mounted in the container: sysbox-runc leaves out a kind whose place the spec already mounts. */
export const MGR_MOUNT_DESTINATIONS: Readonly<Record<MgrMountKind, string>> = {
  docker: "/var/lib/docker",
  containerd: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs",
  kubelet: "/var/lib/kubelet",
  buildkit: "/var/lib/buildkit",
  "rancher-k3s": "/var/lib/rancher/k3s",
  k0s: "/var/lib/k0s",
};

/**
 * sysbox-mgr's defaults for the per-container settings (its --honor-caps,
 * --syscont-mode, --ignore-sysfs-chown and --allow-trusted-xattr); a
 * container's SYSBOX_* variables override them (internal/syscont/settings.ts).
 */
export const SettingDefaultsSchema = v.object({
  honorCaps: v.boolean(),
  syscontMode: v.boolean(),
  ignoreSysfsChown: v.boolean(),
  allowTrustedXattr: v.boolean(),
});
export type SettingDefaults = v.InferOutput<typeof SettingDefaultsSchema>;

const MountSchema = v.object({
  /** A host dir kind, or "kernel" for the read-only /lib/modules and header mounts. */
  kind: v.string(),
  source: v.string(),
  destination: v.string(),
  type: v.literal("bind"),
  options: v.array(v.string()),
});

/** Every request type; key = the envelope's `type`. */
export const MESSAGES = {
  // Liveness and identity of a daemon; every daemon answers it.
  status: { request: v.object({}), response: StatusResponse },
  // mgr: before the container's init exists. Gives it an exclusive ID range,
  // or the one it held before if the id is known (a restart).
  register: {
    request: v.object({
      id: ContainerId,
      /** The bundle's rootfs; while it (or, for ".../merged", its parent) exists, the container is kept after unregister. */
      rootfs: v.optional(AbsPath),
      /** The spec brings its own mapping (userns-remap): recorded, nothing allocated. */
      mapping: v.optional(IdMapping),
    }),
    response: v.object({
      uid: uint(),
      gid: uint(),
      size: uint(),
      /** True when the id was already registered and keeps its range and dirs. */
      reused: v.boolean(),
      /** The daemon's per-container setting defaults; absent from an older sysbox-mgr (Sysbox's then). */
      settings: v.optional(SettingDefaultsSchema),
    }),
  },
  // mgr: once the init process exists; its start time guards against pid reuse.
  update: {
    request: v.object({
      id: ContainerId,
      initPid: v.pipe(uint(), v.minValue(1)),
      /** Field 22 of /proc/PID/stat. */
      initStartTime: v.pipe(v.string(), v.regex(/^\d+$/, "must be decimal digits")),
    }),
    response: v.object({}),
  },
  // mgr: creates the host-backed dirs (kept across restarts) and lists the mounts to add.
  prepareMounts: {
    request: v.object({
      id: ContainerId,
      /** Owner of the new dirs: 0:0 when sysbox-runc ID-maps the binds, the range's first ids otherwise. */
      uid: uint(),
      gid: uint(),
      /** Dirs to provide; default all. Leave out kinds whose destination the spec already mounts. */
      kinds: v.optional(v.array(v.picklist(MGR_MOUNT_KINDS))),
    }),
    response: v.object({ mounts: v.array(MountSchema) }),
  },
  // mgr: at delete. Released now, or kept (range and dirs) while the rootfs exists.
  unregister: {
    request: v.object({ id: ContainerId }),
    response: v.object({ result: v.picklist(["released", "kept", "unknown"]) }),
  },
  // fs: once the init process exists, before its /proc is bound (sequence in
  // internal/sysboxfs/mod.ts). Mounts the container's FUSE dir and says what
  // to bind where. Registering a known id with a new init starts it afresh.
  fsRegister: {
    request: v.object({
      id: ContainerId,
      initPid: v.pipe(uint(), v.minValue(1)),
      /** When the container started, ms since the epoch; default: the init's start time. */
      startTime: v.optional(uint()),
      /** The container's root on the host and the range sizes. */
      uidFirst: uint(),
      uidSize: v.pipe(uint(), v.minValue(1)),
      gidFirst: uint(),
      gidSize: v.pipe(uint(), v.minValue(1)),
    }),
    response: v.object({
      /** The container's FUSE mount on the host. */
      mountpoint: v.string(),
      /** Bind mounts to make in the container: host source (under mountpoint) -> container destination. */
      binds: v.array(v.object({ source: v.string(), destination: v.string() })),
    }),
  },
  // fs: at delete. Unmounts the container's FUSE dir and forgets its values.
  fsUnregister: {
    request: v.object({ id: ContainerId }),
    response: v.object({ result: v.picklist(["released", "unknown"]) }),
  },
} as const satisfies Record<string, MessageSpec>;

export type MessageType = keyof typeof MESSAGES;
/** What a caller passes as the body of `type`. */
export type RequestInput<T extends MessageType> = v.InferInput<(typeof MESSAGES)[T]["request"]>;
/** What a handler receives: the body after validation. */
export type RequestBody<T extends MessageType> = v.InferOutput<(typeof MESSAGES)[T]["request"]>;
/** What a handler returns. */
export type ResponseInput<T extends MessageType> = v.InferInput<(typeof MESSAGES)[T]["response"]>;
/** What a caller receives: the response body after validation. */
export type ResponseBody<T extends MessageType> = v.InferOutput<(typeof MESSAGES)[T]["response"]>;

/** The request types each daemon serves; its handler table must implement exactly these. */
export interface DaemonMessages {
  mgr: "status" | "register" | "update" | "prepareMounts" | "unregister";
  fs: "status" | "fsRegister" | "fsUnregister";
}
export type DaemonKind = keyof DaemonMessages;

/** Per-request facts a handler may use (logging, tracing). */
export interface RequestContext {
  id: number;
  type: MessageType;
  /** Serial number of the connection within this server, from 1. */
  connection: number;
}

export type Handler<T extends MessageType> = (
  body: RequestBody<T>,
  ctx: RequestContext,
) => ResponseInput<T> | Promise<ResponseInput<T>>;

/** A handler table covering exactly the request types in `M`. */
export type Handlers<M extends MessageType> = { [T in M]: Handler<T> };

/** Error codes the IPC layer itself puts in error replies; handlers may use others. */
export const ERROR_CODES = {
  /** No handler for the request type on this daemon. */
  unknownMessage: "unknown-message",
  /** The envelope or body failed its schema; the message names the field. */
  invalidMessage: "invalid-message",
  /** A frame that cannot be decoded; the connection is closed after this reply. */
  malformedFrame: "malformed-frame",
  /** A frame longer than the server's limit; the connection is closed after this reply. */
  oversizeFrame: "oversize-frame",
  /** The handler failed without choosing a code, or returned an invalid body. */
  internal: "internal",
} as const;

/** Thrown by a handler to choose the error code of its reply. */
export class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RequestError";
    this.code = code;
  }
}

export interface WireError {
  code: string;
  message: string;
}
export type ResponseEnvelope =
  | { id: number; ok: true; body: unknown }
  | { id: number; ok: false; error: WireError };

const RequestEnvelopeSchema = v.object({ id: v.pipe(uint(), v.minValue(1)), type: v.string(), body: v.unknown() });
const ResponseEnvelopeSchema = v.variant("ok", [
  v.object({ id: uint(), ok: v.literal(true), body: v.unknown() }),
  v.object({ id: uint(), ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);

/** `field.path: message; other: message`, each path prefixed with `prefix`. */
export function issuesText(issues: readonly v.BaseIssue<unknown>[], prefix = ""): string {
  return issues
    .map((issue) => {
      const path = v.getDotPath(issue);
      const where = [prefix, path].filter(Boolean).join(".");
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

/** A registry shaped like MESSAGES; the checks below take one so tests can use their own. */
export type Registry = Readonly<Record<string, MessageSpec>>;

export function isMessageType(type: string, registry: Registry = MESSAGES): type is MessageType {
  return Object.hasOwn(registry, type);
}

export type CheckedRequest =
  | { ok: true; id: number; type: MessageType; body: unknown }
  | { ok: false; id: number | undefined; error: WireError };

/**
 * Validates a decoded request envelope and its body. `serves` says whether
 * this daemon handles a type; an unserved or unregistered type is
 * "unknown-message". A failure keeps the id when the envelope had a usable one.
 */
export function checkRequest(
  raw: unknown,
  serves: (type: MessageType) => boolean,
  { registry = MESSAGES }: { registry?: Registry } = {},
): CheckedRequest {
  const env = v.safeParse(RequestEnvelopeSchema, raw);
  if (!env.success) {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const id = v.is(v.pipe(uint(), v.minValue(1)), rawId) ? rawId : undefined;
    return { ok: false, id, error: { code: ERROR_CODES.invalidMessage, message: `invalid request envelope: ${issuesText(env.issues)}` } };
  }
  const { id, type, body } = env.output;
  if (!isMessageType(type, registry) || !serves(type)) {
    return { ok: false, id, error: { code: ERROR_CODES.unknownMessage, message: `unknown message type ${JSON.stringify(type)}` } };
  }
  const parsed = v.safeParse(registry[type]!.request, body);
  if (!parsed.success) {
    return { ok: false, id, error: { code: ERROR_CODES.invalidMessage, message: `invalid ${type} request: ${issuesText(parsed.issues, "body")}` } };
  }
  return { ok: true, id, type, body: parsed.output };
}

/** Validates what a handler returned before it goes on the wire. */
export function checkResponseBody(
  type: MessageType,
  body: unknown,
  { registry = MESSAGES }: { registry?: Registry } = {},
): { ok: true; body: unknown } | { ok: false; message: string } {
  const parsed = v.safeParse(registry[type]!.response, body);
  return parsed.success
    ? { ok: true, body: parsed.output }
    : { ok: false, message: `invalid ${type} response: ${issuesText(parsed.issues, "body")}` };
}

/** Validates a decoded response envelope (not its body, whose type only the caller knows). */
export function parseResponseEnvelope(raw: unknown): { ok: true; envelope: ResponseEnvelope } | { ok: false; message: string } {
  const env = v.safeParse(ResponseEnvelopeSchema, raw);
  return env.success
    ? { ok: true, envelope: env.output as ResponseEnvelope }
    : { ok: false, message: `invalid response envelope: ${issuesText(env.issues)}` };
}

/** The wire form of an error a handler threw: its own code when it chose one, else "internal". */
export function toWireError(e: unknown): WireError {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: typeof code === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(code) ? code : ERROR_CODES.internal,
    message,
  };
}
