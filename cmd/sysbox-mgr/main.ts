/**
 * sysbox-mgr: the manager daemon sysbox-runc asks for host-side resources.
 * Thin: parse flags, set up logging, let internal/daemon claim the pid file,
 * let internal/mgr set up the host (sysbox user, subuid/subgid range, data
 * root, saved state), then serve <run-dir>/sysmgr.sock until SIGTERM/SIGINT.
 */
import { UsageError, type Flag } from "../../internal/cli/mod.ts";
import { startDaemon, untilSignal, runUntilSignal, parseDaemonCli, type RunningDaemon } from "../../internal/daemon/mod.ts";
import { setupLogging } from "../../internal/log/mod.ts";
import { DEFAULT_DATA_ROOT, Manager, mgrHandlers } from "../../internal/mgr/mod.ts";

const NAME = "sysbox-mgr";
const DESCRIPTION = "The Sysbox manager daemon: serves sysbox-runc on <run-dir>/sysmgr.sock.";

const FLAGS: readonly Flag[] = [
  { name: "data-root", kind: "string", arg: "DIR", default: DEFAULT_DATA_ROOT, help: "per-container host dirs and the state file (not on tmpfs or overlayfs)" },
  { name: "host-root", kind: "string", arg: "DIR", default: "/", help: "read etc/subuid, etc/subgid, etc/login.defs, etc/passwd, lib/modules and usr/src under DIR" },
  { name: "reclaim-interval", kind: "string", arg: "SECONDS", default: "30", help: "how often to reclaim what removed containers held" },
  // Per-container setting defaults; a container's SYSBOX_* variables override them (docs/user-guide.md).
  { name: "honor-caps", kind: "bool", help: "containers' init processes get the spec's capabilities (default: root gets all)" },
  { name: "syscont-mode", kind: "bool", help: "system containers (default true); --syscont-mode=false: plain containers with their own user and cgroup namespaces" },
  { name: "ignore-sysfs-chown", kind: "bool", help: "chown of /sys paths inside containers succeeds without effect" },
  { name: "allow-trusted-xattr", kind: "bool", help: "containers' root may set trusted.* extended attributes" },
];

async function main(argv: string[]): Promise<number> {
  const flags = parseDaemonCli(argv, {
    name: NAME, description: DESCRIPTION, extra: FLAGS,
    check: (f) => {
      const n = Number(f.str("reclaim-interval"));
      if (!Number.isFinite(n) || n < 0) {
        throw new UsageError(`invalid value ${JSON.stringify(f.str("reclaim-interval"))} for --reclaim-interval: expected seconds >= 0`);
      }
    },
  });
  if (typeof flags === "number") return flags;
  const reclaimSeconds = Number(flags.str("reclaim-interval"));

  const log = setupLogging({ ...(flags.log ? { file: flags.log } : {}), format: flags.logFormat, level: flags.logLevel });
  const mgr = new Manager({
    dataRoot: flags.str("data-root")!,
    hostRoot: flags.str("host-root")!,
    reclaimIntervalMs: reclaimSeconds * 1000,
    logger: log,
    settings: {
      honorCaps: flags.bool("honor-caps"),
      syscontMode: flags.given("syscont-mode") ? flags.bool("syscont-mode") : true,
      ignoreSysfsChown: flags.bool("ignore-sysfs-chown"),
      allowTrustedXattr: flags.bool("allow-trusted-xattr"),
    },
  });
  // Handlers first: the socket is served before startDaemon returns, so a
  // client may already be asking us to stop.
  const signalled = untilSignal();
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon("mgr", { runDir: flags.runDir, handlers: mgrHandlers(mgr, NAME), logger: log, setup: () => mgr.open() });
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  log.ready(`${NAME} ready (pid ${process.pid}), listening on ${daemon.socketPath}`);
  return runUntilSignal(NAME, signalled, log, [() => mgr.close(), () => daemon.close()]);
}

process.exit(await main(process.argv.slice(2)));
