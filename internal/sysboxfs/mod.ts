/**
 * sysbox-fs: a FUSE mount per system container serving its emulated /proc
 * and /sys files (internal/procfs), kept in a state file and held open by
 * keeper processes (internal/keeper) so that a restart of sysbox-fs breaks
 * no container; and the seccomp interceptor's server half (seccomp/), whose
 * decisions come from internal/intercept. daemon.ts puts the two together.
 *
 *   sysbox-runc create                               sysbox-fs
 *     |   ... clone init ...
 *     |-- fsRegister {id, initPid, startTime?,  ---->|  mkdir <mount-root>/<id>, mount FUSE,
 *     |               uid/gid first+size}            |  wait for INIT, start its keeper, save
 *     |<- {mountpoint, binds: [{source, dest}]} -----|
 *     |   bind each source over its dest in the container (rbind, rprivate)
 *   sysbox-runc delete
 *     |-- fsUnregister {id} ------------------------>|  unmount (lazy), stop keeper, rmdir, save
 *     |<- {result: "released" | "unknown"} ----------|
 *
 *   sysbox-fs killed and started again:
 *     for each saved container whose init still runs:
 *       keeper alive  -> take the device fd back from it and serve on; the
 *                        mount and every bind of it never went away
 *       keeper gone   -> lazy-unmount the dead mount, mount afresh (binds in
 *                        the container stay dead until the runtime rebinds)
 *     containers whose init is gone are unmounted and forgotten.
 */
export * from "./state.ts";
export * from "./server.ts";
export * from "./handlers.ts";
export * from "./daemon.ts";
export { SECCOMP_STATE } from "./seccomp/kept.ts";
export { startInterceptServer, type InterceptServer, type InterceptServerOptions, type InterceptStats } from "./seccomp/server.ts";
