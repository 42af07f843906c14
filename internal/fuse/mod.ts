/**
 * FUSE without libfuse: the kernel protocol codec (codec.ts), table-driven
 * dispatch (dispatch.ts), a session serving one mount over /dev/fuse
 * (session.ts) and an in-memory tree filesystem (tree.ts).
 */
export * from "./proto.ts";
export * from "./codec.ts";
export * from "./errors.ts";
export * from "./fs.ts";
export * from "./dispatch.ts";
export * from "./tree.ts";
export * from "./session.ts";
