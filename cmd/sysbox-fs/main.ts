/**
 * sysbox-fs: the filesystem daemon sysbox-runc registers containers with.
 * Thin: parse flags, set up logging, let internal/daemon claim the pid file,
 * let internal/sysboxfs serve again the containers of an earlier run, then
 * serve <run-dir>/sysfs.sock until SIGTERM/SIGINT.
 */
import { join } from "node:path";
import { startDaemon, untilSignal, runUntilSignal, parseDaemonCli, type FlagSpec, type RunningDaemon } from "../../internal/daemon/mod.ts";
import { startInterceptServer } from "../../internal/intercept/mod.ts";
import { setupLogging } from "../../internal/log/mod.ts";
import { BINDS } from "../../internal/procfs/mod.ts";
import { DEFAULT_MOUNT_ROOT, fsHandlers, STATE_FILE, SysboxFs } from "../../internal/sysboxfs/mod.ts";

const NAME = "sysbox-fs";
const DESCRIPTION = "The Sysbox filesystem daemon: serves sysbox-runc on <run-dir>/sysfs.sock.";

const FLAGS: readonly FlagSpec[] = [
  { name: "mountpoint", kind: "string", arg: "DIR", default: DEFAULT_MOUNT_ROOT, help: "where each container's FUSE dir is mounted (DIR/<id>)" },
  { name: "no-keepers", kind: "boolean", help: "do not keep FUSE connections and seccomp notify fds open across restarts (a restart then breaks running containers' binds and mounts)" },
];

async function main(argv: string[]): Promise<number> {
  const flags = parseDaemonCli(argv, { name: NAME, description: DESCRIPTION, extra: FLAGS });
  if (typeof flags === "number") return flags;

  const log = setupLogging({ ...(flags.log ? { file: flags.log } : {}), format: flags.logFormat, level: flags.logLevel });
  const fs = new SysboxFs({
    mountRoot: flags.values.mountpoint as string,
    stateFile: join(flags.runDir, STATE_FILE),
    keepers: flags.values["no-keepers"] !== true,
    log,
    trace: flags.logLevel === "debug",
  });
  // Handlers first: the socket is served before startDaemon returns, so a
  // client may already be asking us to stop.
  const signalled = untilSignal();
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon("fs", { runDir: flags.runDir, handlers: fsHandlers(fs, NAME), logger: log, setup: () => fs.open() });
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  // Syscall interception: <run-dir>/sysfs-seccomp.sock and its notify thread (internal/intercept).
  // New proc and sysfs mounts inside get the same sysbox-fs files the runtime binds at create.
  const virtualFs = { mountRoot: flags.values.mountpoint as string, binds: BINDS };
  const intercept = await startInterceptServer({ runDir: flags.runDir, logger: log, debug: flags.logLevel === "debug", virtualFs,
    keepers: flags.values["no-keepers"] !== true })
    .catch((e: Error) => void log.error(`cannot start the seccomp interceptor: ${e.message}`));
  if (!intercept) {
    await daemon.close();
    await fs.close();
    return 1;
  }
  log.ready(`${NAME} ready (pid ${process.pid}), listening on ${daemon.socketPath}, ${fs.counts().containers} containers`);
  return runUntilSignal(NAME, signalled, log, [() => intercept.close(), () => daemon.close(), () => fs.close()]);
}

process.exit(await main(process.argv.slice(2)));
