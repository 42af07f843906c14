/**
 * sysbox-fs: the filesystem daemon sysbox-runc registers containers with.
 * Thin: parse flags, set up logging, let internal/daemon claim the pid file
 * and serve <run-dir>/sysfs.sock until SIGTERM/SIGINT.
 */
import { startDaemon, statusHandler, untilSignal, parseDaemonFlags, usageText, UsageError, type DaemonFlags, type RunningDaemon } from "../../internal/daemon/mod.ts";
import { setupLogging } from "../../internal/log/mod.ts";
import { versionText } from "../../internal/version/mod.ts";

const NAME = "sysbox-fs";
const DESCRIPTION = "The Sysbox filesystem daemon: serves sysbox-runc on <run-dir>/sysfs.sock.";

async function main(argv: string[]): Promise<number> {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${NAME}: ${e.message}\nRun '${NAME} --help' for usage.\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(usageText(NAME, DESCRIPTION));
    return 0;
  }
  if (flags.version) {
    process.stdout.write(versionText(NAME));
    return 0;
  }

  const log = setupLogging({ ...(flags.log ? { file: flags.log } : {}), format: flags.logFormat, level: flags.logLevel });
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon("fs", { runDir: flags.runDir, handlers: { status: statusHandler(NAME) }, logger: log });
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  log.ready(`${NAME} ready (pid ${process.pid}), listening on ${daemon.socketPath}`);
  const sig = await untilSignal();
  log.info(`${NAME}: received ${sig}, shutting down`);
  try {
    await daemon.close();
  } catch (e) {
    log.error(`${NAME}: shutdown: ${(e as Error).message}`);
    return 1;
  }
  log.info(`${NAME}: stopped`);
  return 0;
}

process.exit(await main(process.argv.slice(2)));
