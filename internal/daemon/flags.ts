/**
 * Command-line flags shared by sysbox-mgr and sysbox-fs, as a table so that
 * parsing and `--help` cannot drift apart. Long flags take one or two dashes
 * and `--flag value` or `--flag=value`, as urfave/cli (Sysbox's parser) does.
 */
import { DEFAULT_RUN_DIR } from "../ipc/endpoints.ts";
import { LOG_FORMATS, LOG_LEVEL_NAMES, type LogFormat, type LogLevel } from "../log/mod.ts";

/** A command line the daemon cannot run with; main prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface FlagSpec {
  name: string;
  short?: string;
  /** A string flag takes a value; a boolean flag is set by its presence. */
  kind: "string" | "boolean";
  /** Placeholder for the value in --help, e.g. FILE. */
  arg?: string;
  /** Allowed values, checked while parsing and listed in --help. */
  choices?: readonly string[];
  default?: string;
  help: string;
}

export const DAEMON_FLAGS: readonly FlagSpec[] = [
  { name: "log", kind: "string", arg: "FILE", help: "append log lines to FILE instead of stderr" },
  { name: "log-level", kind: "string", arg: "LEVEL", choices: LOG_LEVEL_NAMES, default: "info", help: "least severe level logged" },
  { name: "log-format", kind: "string", arg: "FORMAT", choices: LOG_FORMATS, default: "text", help: "log line format" },
  { name: "run-dir", kind: "string", arg: "DIR", default: DEFAULT_RUN_DIR, help: "directory for the socket and pid file" },
  { name: "version", short: "v", kind: "boolean", help: "print the version and exit" },
  { name: "help", short: "h", kind: "boolean", help: "print this help and exit" },
];

export type FlagValues = Record<string, string | boolean | undefined>;

export interface DaemonFlags {
  log: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  runDir: string;
  version: boolean;
  help: boolean;
  /** Every flag by name, including a daemon's own `extra` flags. */
  values: FlagValues;
}

export interface FlagOptions {
  /** Flags this daemon adds to DAEMON_FLAGS. */
  extra?: readonly FlagSpec[];
}

/** Parses argv (without the program name); throws UsageError on anything unknown or invalid. */
export function parseDaemonFlags(argv: readonly string[], opts: FlagOptions = {}): DaemonFlags {
  const specs = [...DAEMON_FLAGS, ...(opts.extra ?? [])];
  const values: FlagValues = {};
  for (const s of specs) values[s.name] = s.kind === "boolean" ? false : s.default;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    }
    const eq = arg.indexOf("=");
    const key = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const bare = key.replace(/^--?/, "");
    const spec = specs.find((s) => s.name === bare || (s.short !== undefined && key === `-${s.short}`));
    if (!spec) throw new UsageError(`unknown flag ${key}`);
    if (spec.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`flag --${spec.name} takes no value`);
      values[spec.name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag --${spec.name} needs a value`);
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`invalid value ${JSON.stringify(value)} for --${spec.name}: expected one of ${spec.choices.join("|")}`);
    }
    values[spec.name] = value;
  }

  return {
    log: values.log === "" ? undefined : (values.log as string | undefined),
    logLevel: values["log-level"] as LogLevel,
    logFormat: values["log-format"] as LogFormat,
    runDir: values["run-dir"] as string,
    version: values.version === true,
    help: values.help === true,
    values,
  };
}

/** The `--help` text: usage line, description, and every flag with its default and choices. */
export function usageText(name: string, description: string, opts: FlagOptions = {}): string {
  const specs = [...DAEMON_FLAGS, ...(opts.extra ?? [])];
  const left = specs.map((s) => {
    const long = `--${s.name}${s.arg ? ` ${s.arg}` : ""}`;
    return s.short ? `-${s.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  const lines = specs.map((s, i) => {
    const notes = [s.choices ? `one of ${s.choices.join("|")}` : "", s.default !== undefined ? `default ${s.default}` : ""].filter(Boolean);
    return `  ${left[i]!.padEnd(width)}  ${s.help}${notes.length ? ` (${notes.join(", ")})` : ""}`;
  });
  return `Usage: ${name} [flags]\n\n${description}\n\nFlags:\n${lines.join("\n")}\n`;
}
