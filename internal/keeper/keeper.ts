/**
 * Keepers: tiny processes that hold a copy of one fd so that what the fd
 * keeps alive outlives the daemon that opened it. sysbox-fs keeps two kinds:
 * a container's /dev/fuse connection (when its last fd closes, every bind
 * mount of it inside the container reads "Transport endpoint is not
 * connected") and a seccomp notify listener (when its last fd closes, every
 * trapped mount fails with ENOSYS for good).
 *
 *   daemon                       keeper (`sleep infinity`, own session)
 *     fd 17 = /dev/fuse  ------>   fd 3 = the same open file
 *   (killed; its fd closes)        (still open: the connection lives,
 *                                   requests wait in the kernel queue)
 *   daemon, restarted
 *     pidfd_getfd(keeper, 3) --->  fd 21 = the same open file again;
 *     (FUSE_NOTIFY_RESEND for      the kernel resends what the dead process
 *      FUSE, Linux 6.9+)           had read but not answered
 *
 * The daemon's state file (statefile.ts) records each keeper's pid and start
 * time, so a reused pid is never mistaken for it; `held` names what the fd
 * must link to. Under systemd, the unit needs KillMode=process (or the
 * keepers moved out of its cgroup) for them to survive a restart.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { close } from "../sys/fs.ts";
import { pidfdGetfd, pidfdOpen } from "../sys/proc.ts";
import { processStartTime } from "../sys/procstat.ts";

/** The fd number the keeper holds the device at. */
export const KEEPER_FD = 3;

export interface KeeperRecord {
  pid: number;
  /** Field 22 of /proc/PID/stat, against pid reuse. */
  startTime: string;
}

export interface KeeperOptions {
  /** The program a keeper runs; it must keep inherited fds and live forever. Default `sleep infinity`. */
  command?: readonly string[];
  /** What /proc/PID/fd/3 of the keeper links to. Default "/dev/fuse". */
  held?: string;
}

/** What a keeper's fd links to, by kind: `held` for spawnKeeper and the checks. */
export const HELD = {
  fuse: "/dev/fuse",
  seccompNotify: "anon_inode:seccomp notify",
} as const;

const FUSE_DEVICE = HELD.fuse;

/**
 * argv[0] of a keeper: `sysbox-fs-keeper <mountpoint> <state file>`, so a
 * restart can find its own keepers that the state file does not mention.
 */
export const KEEPER_NAME = "sysbox-fs-keeper";

const DEFAULT_COMMAND = ["sleep", "infinity"] as const;

/**
 * The start time (ticks) of `pid`, zombie or not, or undefined when there is
 * no such process. A zombie keeper holds no fd, so the `holds` check below
 * tells it apart.
 */
function startTicks(pid: number): string | undefined {
  return processStartTime(pid)?.ticks;
}

/** Whose keeper a process is: what it keeps and the state file of the daemon that started it. */
export interface KeeperOwner {
  /** The FUSE mountpoint it keeps connected, or `seccomp:<container id>`; no spaces. */
  mountpoint: string;
  stateFile: string;
}

/**
 * Starts a keeper holding a copy of `fd` (by default the FUSE device of
 * `owner.mountpoint`); it outlives this process.
 */
export async function spawnKeeper(fd: number, owner: KeeperOwner, opts: KeeperOptions = {}): Promise<KeeperRecord> {
  const cmd = [...(opts.command ?? DEFAULT_COMMAND)];
  const held = opts.held ?? FUSE_DEVICE;
  const child = Bun.spawn(cmd, {
    stdio: ["ignore", "ignore", "ignore", fd],
    detached: true,
    // ps: "sysbox-fs-keeper /var/lib/sysboxfs/<id> /run/sysbox/fs-state.json infinity".
    argv0: `${KEEPER_NAME} ${owner.mountpoint} ${owner.stateFile}`,
  });
  child.unref();
  for (let i = 0; i < 200; i++) {
    const startTime = startTicks(child.pid);
    if (startTime !== undefined && holds(child.pid, held)) {
      // Still there a moment later: the program runs and keeps the fd (not one that exits at once).
      await Bun.sleep(20);
      const k = { pid: child.pid, startTime };
      if (keeperAlive(k, held)) return k;
      break;
    }
    if (child.exitCode !== null) break;
    await Bun.sleep(5);
  }
  child.kill("SIGKILL");
  throw new Error(`keeper ${cmd.join(" ")} (pid ${child.pid}) did not come up holding ${held}`);
}

function holds(pid: number, held: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/fd/${KEEPER_FD}`) === held;
  } catch {
    return false;
  }
}

/** Whether `k` is still our keeper: the same process, still holding the fd (a /dev/fuse one by default). */
export function keeperAlive(k: KeeperRecord, held: string = FUSE_DEVICE): boolean {
  return startTicks(k.pid) === k.startTime && holds(k.pid, held);
}

/**
 * A duplicate of the keeper's device fd in this process, or undefined if
 * the keeper is gone or is not ours.
 */
export function reclaimFd(k: KeeperRecord, held: string = FUSE_DEVICE): number | undefined {
  if (!keeperAlive(k, held)) return undefined;
  let pidfd: number;
  try {
    pidfd = pidfdOpen(k.pid);
  } catch {
    return undefined;
  }
  try {
    // Checked again with the pidfd held: the pid cannot be reused under it now.
    if (!keeperAlive(k, held)) return undefined;
    return pidfdGetfd(pidfd, KEEPER_FD);
  } catch {
    return undefined;
  } finally {
    close(pidfd);
  }
}

/** Ends a keeper if it is still ours; its copy of the fd closes with it. */
export function stopKeeper(k: KeeperRecord): void {
  if (startTicks(k.pid) !== k.startTime) return;
  try {
    process.kill(k.pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/**
 * Keepers started for `stateFile` whose pids are not in `known`: left by a
 * run that died between starting a keeper and saving it. Each is checked to
 * hold `held` (/dev/fuse by default).
 */
export function strayKeepers(stateFile: string, known: ReadonlySet<number>, held: string = FUSE_DEVICE): Array<KeeperRecord & { mountpoint: string }> {
  const out: Array<KeeperRecord & { mountpoint: string }> = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const name of pids) {
    const pid = Number(name);
    if (known.has(pid) || pid === process.pid) continue;
    let argv0: string;
    try {
      argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    } catch {
      continue;
    }
    const [tag, mountpoint, file, ...rest] = argv0.split(" ");
    if (tag !== KEEPER_NAME || file !== stateFile || rest.length || !mountpoint) continue;
    const startTime = startTicks(pid);
    if (startTime !== undefined && holds(pid, held)) out.push({ pid, startTime, mountpoint });
  }
  return out;
}
