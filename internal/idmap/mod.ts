/** internal/idmap: ID-mapped clones of trees (clone.ts) and the ID-mapped overlay root filesystem (rootfs.ts). */
export * from "./clone.ts";
export * from "./rootfs.ts";
