/**
 * Keepers: what lets a container's FUSE mount outlive sysbox-fs.
 *
 * A FUSE connection dies when the last fd of its /dev/fuse file closes, and
 * with it every bind mount of it inside containers ("Transport endpoint is
 * not connected"). So for each container sysbox-fs starts a tiny process
 * that does nothing but hold a copy of that fd:
 *
 *   sysbox-fs                    keeper (`sleep infinity`, own session)
 *     fd 17 = /dev/fuse  ------>   fd 3 = the same open file
 *   (killed; its fd closes)        (still open: the connection lives,
 *                                   requests wait in the kernel queue)
 *   sysbox-fs, restarted
 *     pidfd_getfd(keeper, 3) --->  fd 21 = the same open file again;
 *     FUSE_NOTIFY_RESEND           the kernel resends what the dead process
 *                                  had read but not answered (Linux 6.9+)
 *
 * The state file records each keeper's pid and start time, so a reused pid
 * is never mistaken for it. The same kind of keeper holds the seccomp
 * notify fds of the syscall interceptor (`held` names what the fd is). Under systemd, the unit needs KillMode=process
 * (or the keepers moved out of its cgroup) for them to survive a restart.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { close } from "../sys/fs.ts";
import { pidfdGetfd, pidfdOpen } from "../sys/proc.ts";
import { CLK_TCK, parseStatStartTime } from "../procfs/host.ts";

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

const FUSE_DEVICE = "/dev/fuse";

/**
 * argv[0] of a keeper: `sysbox-fs-keeper <mountpoint> <state file>`, so a
 * restart can find its own keepers that the state file does not mention.
 */
export const KEEPER_NAME = "sysbox-fs-keeper";

const DEFAULT_COMMAND = ["sleep", "infinity"] as const;

export function processStartTime(pid: number): string | undefined {
  try {
    return parseStatStartTime(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Seconds since boot at which `pid` started, from its start time in ticks. */
export function startTimeSeconds(ticks: string): number {
  return Number(ticks) / CLK_TCK;
}

/** Whose keeper a process is: the mount it keeps and the state file of the sysbox-fs that started it. */
export interface KeeperOwner {
  mountpoint: string;
  stateFile: string;
}

/**
 * Starts a keeper holding a copy of `fd` (the FUSE device of
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
    const startTime = processStartTime(child.pid);
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
  return processStartTime(k.pid) === k.startTime && holds(k.pid, held);
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
  if (processStartTime(k.pid) !== k.startTime) return;
  try {
    process.kill(k.pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/**
 * Keepers started for `stateFile` whose pids are not in `known`: left by a
 * run that died between starting a keeper and saving it. Each is checked to
 * hold /dev/fuse.
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
    const startTime = processStartTime(pid);
    if (startTime !== undefined && holds(pid, held)) out.push({ pid, startTime, mountpoint });
  }
  return out;
}
