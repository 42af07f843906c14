/**
 * Command-line flags shared by sysbox-mgr and sysbox-fs (the table), parsed
 * with internal/cli; each daemon adds its own.
 */
import { parseFlags, usageText as cliUsageText, type Flag, type Flags } from "../cli/mod.ts";
import { DEFAULT_RUN_DIR } from "../ipc/mod.ts";
import { LOG_FORMATS, LOG_LEVEL_NAMES, type LogFormat, type LogLevel } from "../log/mod.ts";

export const DAEMON_FLAGS: readonly Flag[] = [
  { name: "log", kind: "string", arg: "FILE", help: "append log lines to FILE instead of stderr" },
  { name: "log-level", kind: "string", arg: "LEVEL", choices: LOG_LEVEL_NAMES, default: "info", help: "least severe level logged" },
  { name: "log-format", kind: "string", arg: "FORMAT", choices: LOG_FORMATS, default: "text", help: "log line format" },
  { name: "run-dir", kind: "string", arg: "DIR", default: DEFAULT_RUN_DIR, help: "directory for the socket and pid file" },
  { name: "version", short: "v", kind: "bool", help: "print the version and exit" },
  { name: "help", short: "h", kind: "bool", help: "print this help and exit" },
];

/** The shared flags, typed; a daemon's own through the accessors. */
export interface DaemonFlags extends Flags {
  log: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  runDir: string;
  version: boolean;
  help: boolean;
}

export interface FlagOptions {
  /** Flags this daemon adds to DAEMON_FLAGS. */
  extra?: readonly Flag[];
}

/** Parses argv (without the program name); throws UsageError on anything unknown or invalid. */
export function parseDaemonFlags(argv: readonly string[], opts: FlagOptions = {}): DaemonFlags {
  const { flags } = parseFlags(argv, [...DAEMON_FLAGS, ...(opts.extra ?? [])]);
  const log = flags.str("log");
  return {
    ...flags,
    log: log === "" ? undefined : log,
    logLevel: flags.str("log-level") as LogLevel,
    logFormat: flags.str("log-format") as LogFormat,
    runDir: flags.str("run-dir")!,
    version: flags.bool("version"),
    help: flags.bool("help"),
  };
}

/** The `--help` text: usage line, description, and every flag with its default and choices. */
export function usageText(name: string, description: string, opts: FlagOptions = {}): string {
  return cliUsageText(name, description, [...DAEMON_FLAGS, ...(opts.extra ?? [])]);
}
