/**
 * ID-mapped mounts: a detached clone of a tree whose owners appear shifted by
 * a user namespace's mapping, ready to move_mount() into place.
 */
import { AT, MOUNT_ATTR, OPEN_TREE, SysError, close, isSysError, mountSetattr, openTree } from "../sys/mod.ts";

export interface IdmappedCloneOptions {
  /** Clone and map submounts too (AT_RECURSIVE on both calls). */
  recursive?: boolean;
}

/**
 * open_tree(OPEN_TREE_CLONE) of `path`, then mount_setattr(MOUNT_ATTR_IDMAP)
 * with the user namespace behind `usernsFd`. Returns the detached mount fd
 * (close-on-exec); the caller moves it into place and closes it.
 */
export function idmappedClone(path: string, usernsFd: number, opts: IdmappedCloneOptions = {}): number {
  const rec = opts.recursive ? AT.RECURSIVE : 0;
  const fd = openTree(path, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | rec);
  try {
    mountSetattr(fd, "", rec, { set: MOUNT_ATTR.IDMAP, userns_fd: usernsFd });
  } catch (e) {
    close(fd);
    // Name the tree, not the anonymous clone fd.
    if (isSysError(e)) throw new SysError({ syscall: e.syscall, errno: e.errno, path, flags: e.flags });
    throw e;
  }
  return fd;
}
