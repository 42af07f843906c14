/**
 * sysbox-fs: the filesystem daemon sysbox-runc registers containers with.
 * Thin: parse flags, set up logging, let internal/sysboxfs start (pid file,
 * containers of an earlier run, FUSE server and seccomp interceptor), then
 * serve <run-dir>/sysfs.sock until SIGTERM/SIGINT.
 */
import type { Flag } from "../../internal/cli/mod.ts";
import { untilSignal, runUntilSignal, parseDaemonCli } from "../../internal/daemon/mod.ts";
import { setupLogging } from "../../internal/log/mod.ts";
import { DEFAULT_MOUNT_ROOT, startSysboxFs, type RunningSysboxFs } from "../../internal/sysboxfs/mod.ts";

const NAME = "sysbox-fs";
const DESCRIPTION = "The Sysbox filesystem daemon: serves sysbox-runc on <run-dir>/sysfs.sock.";

const FLAGS: readonly Flag[] = [
  { name: "mountpoint", kind: "string", arg: "DIR", default: DEFAULT_MOUNT_ROOT, help: "where each container's FUSE dir is mounted (DIR/<id>)" },
  { name: "no-keepers", kind: "bool", help: "do not keep FUSE connections and seccomp notify fds open across restarts (a restart then breaks running containers' binds and mounts)" },
];

async function main(argv: string[]): Promise<number> {
  const flags = parseDaemonCli(argv, { name: NAME, description: DESCRIPTION, extra: FLAGS });
  if (typeof flags === "number") return flags;

  const log = setupLogging({ ...(flags.log ? { file: flags.log } : {}), format: flags.logFormat, level: flags.logLevel });
  // Handlers first: the socket is served before startSysboxFs returns, so a
  // client may already be asking us to stop.
  const signalled = untilSignal();
  let fs: RunningSysboxFs;
  try {
    fs = await startSysboxFs({
      name: NAME, runDir: flags.runDir, mountRoot: flags.str("mountpoint")!,
      keepers: !flags.bool("no-keepers"), debug: flags.logLevel === "debug",
    }, log);
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  log.ready(`${NAME} ready (pid ${process.pid}), listening on ${fs.socketPath}, ${fs.counts().containers} containers`);
  return runUntilSignal(NAME, signalled, log, [() => fs.close()]);
}

process.exit(await main(process.argv.slice(2)));
