/**
 * sysbox-mgr: the manager daemon sysbox-runc asks for host-side resources.
 * Thin: parse flags, set up logging, let internal/daemon claim the pid file,
 * let internal/mgr set up the host (sysbox user, subuid/subgid range, data
 * root, saved state), then serve <run-dir>/sysmgr.sock until SIGTERM/SIGINT.
 */
import { startDaemon, untilSignal, parseDaemonFlags, usageText, UsageError, type DaemonFlags, type FlagSpec, type RunningDaemon } from "../../internal/daemon/mod.ts";
import { setupLogging } from "../../internal/log/mod.ts";
import { DEFAULT_DATA_ROOT, Manager, mgrHandlers } from "../../internal/mgr/mod.ts";
import { versionText } from "../../internal/version/mod.ts";

const NAME = "sysbox-mgr";
const DESCRIPTION = "The Sysbox manager daemon: serves sysbox-runc on <run-dir>/sysmgr.sock.";

const FLAGS: readonly FlagSpec[] = [
  { name: "data-root", kind: "string", arg: "DIR", default: DEFAULT_DATA_ROOT, help: "per-container host dirs and the state file (not on tmpfs or overlayfs)" },
  { name: "host-root", kind: "string", arg: "DIR", default: "/", help: "read etc/subuid, etc/subgid, etc/login.defs, etc/passwd, lib/modules and usr/src under DIR" },
  { name: "reclaim-interval", kind: "string", arg: "SECONDS", default: "30", help: "how often to reclaim what removed containers held" },
];

async function main(argv: string[]): Promise<number> {
  let flags: DaemonFlags;
  let reclaimSeconds: number;
  try {
    flags = parseDaemonFlags(argv, { extra: FLAGS });
    reclaimSeconds = Number(flags.values["reclaim-interval"]);
    if (!Number.isFinite(reclaimSeconds) || reclaimSeconds < 0) {
      throw new UsageError(`invalid value ${JSON.stringify(flags.values["reclaim-interval"])} for --reclaim-interval: expected seconds >= 0`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${NAME}: ${e.message}\nRun '${NAME} --help' for usage.\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(usageText(NAME, DESCRIPTION, { extra: FLAGS }));
    return 0;
  }
  if (flags.version) {
    process.stdout.write(versionText(NAME));
    return 0;
  }

  const log = setupLogging({ ...(flags.log ? { file: flags.log } : {}), format: flags.logFormat, level: flags.logLevel });
  const mgr = new Manager({
    dataRoot: flags.values["data-root"] as string,
    hostRoot: flags.values["host-root"] as string,
    reclaimIntervalMs: reclaimSeconds * 1000,
    logger: log,
  });
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon("mgr", { runDir: flags.runDir, handlers: mgrHandlers(mgr, NAME), logger: log, setup: () => mgr.open() });
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  log.ready(`${NAME} ready (pid ${process.pid}), listening on ${daemon.socketPath}`);
  const sig = await untilSignal();
  log.info(`${NAME}: received ${sig}, shutting down`);
  mgr.close();
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
