/**
 * The command line every daemon shares: flags (with its own extras), --help,
 * --version, and a usage error that exits 2. Returns the flags to run with,
 * or the exit code when there is nothing to run.
 */
import { versionText } from "../version/mod.ts";
import { UsageError, type Flag } from "../cli/mod.ts";
import { parseDaemonFlags, usageText, type DaemonFlags } from "./flags.ts";

export interface DaemonCli {
  name: string;
  description: string;
  extra: readonly Flag[];
  /** Checks the extra flags' values; throw UsageError to refuse them. */
  check?: (flags: DaemonFlags) => void;
}

export function parseDaemonCli(argv: readonly string[], cli: DaemonCli): DaemonFlags | number {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(argv, { extra: cli.extra });
    cli.check?.(flags);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${cli.name}: ${e.message}\nRun '${cli.name} --help' for usage.\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(usageText(cli.name, cli.description, { extra: cli.extra }));
    return 0;
  }
  if (flags.version) {
    process.stdout.write(versionText(cli.name));
    return 0;
  }
  return flags;
}

/**
 * Waits for the stop signal, then closes what the daemon runs, in order.
 * Returns the exit code: 0, or 1 when a close failed (logged once).
 */
export async function runUntilSignal(
  name: string,
  signalled: Promise<string>,
  log: { info(msg: string): void; error(msg: string): void },
  closers: ReadonlyArray<() => unknown>,
): Promise<number> {
  const sig = await signalled;
  log.info(`${name}: received ${sig}, shutting down`);
  try {
    for (const close of closers) await close();
  } catch (e) {
    log.error(`${name}: shutdown: ${(e as Error).message}`);
    return 1;
  }
  log.info(`${name}: stopped`);
  return 0;
}
