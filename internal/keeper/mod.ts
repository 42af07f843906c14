/**
 * Keeper processes: spawn, reclaim, stop and stray detection for processes
 * that hold one fd across a daemon's restart (keeper.ts), and the state file
 * that records them (statefile.ts). sysbox-fs uses both for its FUSE
 * connections and its seccomp notify fds.
 */
export {
  HELD, KEEPER_FD, KEEPER_NAME, keeperAlive, reclaimFd, spawnKeeper, stopKeeper, strayKeepers,
  type KeeperOptions, type KeeperOwner, type KeeperRecord,
} from "./keeper.ts";
export { KeeperRecordSchema, StateFileError, readStateFile, writeStateFile } from "./statefile.ts";
