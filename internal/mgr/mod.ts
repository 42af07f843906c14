/**
 * sysbox-mgr's logic: exclusive ID ranges and host-backed dirs per system
 * container, kept in a state file that survives `kill -9`. The client
 * sysbox-runc uses to ask for them is internal/ipc's mgr_client.ts.
 *
 *   sysbox-runc create                          sysbox-mgr
 *     |-- register {id, rootfs?, mapping?} ------->|  sweep; reuse the id's range, or allocate
 *     |<- {uid, gid, size, reused, settings} ------|  first-fit; saved before the reply; settings:
 *     |                                            |  the SYSBOX_* defaults from its flags
 *     |-- prepareMounts {id, uid, gid, kinds?} --->|  mkdir <data-root>/<kind>/<id> owned uid:gid
 *     |<- {mounts: [{source, destination, ...}]} --|  + /lib/modules, kernel headers (ro)
 *     |   ... clone init, ID-mapped rootfs and binds ...
 *     |-- update {id, initPid, initStartTime} ---->|  from now on "exists" = that init runs
 *     |<- {} --------------------------------------|
 *   sysbox-runc delete
 *     |-- unregister {id} ------------------------>|  rootfs still there (docker stop)?
 *     |<- {result: "kept" | "released"} -----------|    kept: range and dirs wait for a restart
 *                                                  |    else: dirs removed, range freed
 *   sweep (at start, on register and status, every 30 s):
 *     a container is gone when its init is not running (pid dead, or its start
 *     time differs), its rootfs is gone, and it is not within the grace period
 *     after a register without update; what it held is reclaimed.
 *
 * A register of a known id (docker start after stop) returns the same range
 * and keeps the dirs; a register while the id's init runs is refused.
 */
export * from "./dirs.ts";
export * from "./state.ts";
export * from "./manager.ts";
export * from "./handlers.ts";
export { processStartTime } from "./_proc.ts";
