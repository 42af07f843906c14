/**
 * The calls the runtime makes, as one plain object: the runtime takes a `Sys`
 * instead of importing the wrappers, so its sequences (mounts, masks, fds,
 * ids) can be asserted against a recording fake without root. The few
 * node:fs calls it needs are here too, so a fake can stand in for a rootfs.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { mount, umount2, pivotRoot } from "./mount.ts";
import {
  open, close, read, writeAll, mknod, chown, chmod, mkfifo, chdir, fchdir, chroot, setCloexec, dup3, umask, closeRange, flock,
} from "./fs.ts";
import {
  kill, waitpid, execve, prlimit, prctl, setresuid, setresgid, setgroups, setKeepCaps, setNoNewPrivs, setsid,
  sethostname, setdomainname, unshare, setns,
} from "./proc.ts";
import { applyCapabilities } from "./caps.ts";

export const linuxSys = {
  // mounts
  mount, umount2, pivotRoot,
  // files and fds
  open, close, read, writeAll, mknod, chown, chmod, mkfifo, chdir, fchdir, chroot, setCloexec, dup3, umask, closeRange, flock,
  // processes, identity, namespaces
  kill, waitpid, execve, prlimit, prctl, setresuid, setresgid, setgroups, setKeepCaps, setNoNewPrivs, setsid,
  sethostname, setdomainname, applyCapabilities,
  unshare, setns,
  // plain file-system queries and writes
  exists: (path: string): boolean => existsSync(path),
  /** stat(2) follows links: is the target a directory? */
  isDir: (path: string): boolean => {
    try { return statSync(path).isDirectory(); } catch { return false; }
  },
  /** lstat(2): is `path` itself a directory (not a link to one)? Throws ENOENT. */
  isDirNoFollow: (path: string): boolean => lstatSync(path).isDirectory(),
  readFile: (path: string): string => readFileSync(path, "utf8"),
  writeFile: (path: string, data: string, mode?: number): void => writeFileSync(path, data, mode === undefined ? undefined : { mode }),
  mkdirAll: (path: string, mode = 0o755): void => { mkdirSync(path, { recursive: true, mode }); },
  symlink: (target: string, path: string): void => symlinkSync(target, path),
  rm: (path: string): void => rmSync(path, { force: true }),
};

export type Sys = typeof linuxSys;
