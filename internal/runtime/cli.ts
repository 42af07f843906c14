/**
 * runc-compatible command line: global flags come before the command, each
 * command has its own flags, and both accept `--flag value` and `--flag=value`.
 * Pure, so the table can be tested without a container.
 */

export type FlagKind = "bool" | "string" | "int";
export type FlagSpec = { kind: FlagKind; alias?: string };

export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  root: { kind: "string" },
  log: { kind: "string" },
  "log-format": { kind: "string" },
  debug: { kind: "bool" },
  "systemd-cgroup": { kind: "bool" },
  "no-sysbox-mgr": { kind: "bool" },
  "no-sysbox-fs": { kind: "bool" },
  criu: { kind: "string" },
  rootless: { kind: "string" },
  help: { kind: "bool", alias: "h" },
  version: { kind: "bool", alias: "v" },
};

const BUNDLE: FlagSpec = { kind: "string", alias: "b" };
const PID_FILE: FlagSpec = { kind: "string" };
const CONSOLE: FlagSpec = { kind: "string" };

/** Every command and its flags, as runc spells them. */
export const COMMANDS: Record<string, { usage: string; summary: string; flags: Record<string, FlagSpec>; args: number }> = {
  create: {
    usage: "create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID",
    summary: "create a container", args: 1,
    flags: { bundle: BUNDLE, "pid-file": PID_FILE, "console-socket": CONSOLE, "no-pivot": { kind: "bool" }, "no-new-keyring": { kind: "bool" }, "preserve-fds": { kind: "int" } },
  },
  start: { usage: "start ID", summary: "run the user process of a created container", args: 1, flags: {} },
  run: {
    usage: "run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID",
    summary: "create and start a container", args: 1,
    flags: { bundle: BUNDLE, "pid-file": PID_FILE, "console-socket": CONSOLE, detach: { kind: "bool", alias: "d" }, "no-pivot": { kind: "bool" }, "no-new-keyring": { kind: "bool" }, "preserve-fds": { kind: "int" }, "keep": { kind: "bool" } },
  },
  exec: {
    usage: "exec [--process FILE] [--detach] [--pid-file F] [--console-socket S] [--tty] [--cwd DIR] [--env K=V] [--user UID[:GID]] ID [COMMAND ARGS...]",
    summary: "run a process in a running container", args: -1,
    flags: { process: { kind: "string", alias: "p" }, detach: { kind: "bool", alias: "d" }, "pid-file": PID_FILE, "console-socket": CONSOLE, tty: { kind: "bool", alias: "t" }, cwd: { kind: "string" }, env: { kind: "string", alias: "e" }, user: { kind: "string", alias: "u" }, "preserve-fds": { kind: "int" }, "no-new-privs": { kind: "bool" }, cap: { kind: "string", alias: "c" }, "additional-gids": { kind: "string", alias: "g" }, "process-label": { kind: "string" }, "apparmor": { kind: "string" } },
  },
  kill: { usage: "kill [--all] ID [SIGNAL]", summary: "send a signal to the container's init (default SIGTERM)", args: -1, flags: { all: { kind: "bool", alias: "a" } } },
  delete: { usage: "delete [--force] ID", summary: "delete a container and its resources", args: 1, flags: { force: { kind: "bool", alias: "f" } } },
  state: { usage: "state ID", summary: "print a container's state as JSON", args: 1, flags: {} },
  list: { usage: "list [--format table|json] [--quiet]", summary: "list containers", args: 0, flags: { format: { kind: "string", alias: "f" }, quiet: { kind: "bool", alias: "q" } } },
  ps: { usage: "ps [--format table|json] ID [PS ARGS...]", summary: "list a container's processes", args: -1, flags: { format: { kind: "string", alias: "f" } } },
  pause: { usage: "pause ID", summary: "freeze all processes of a container", args: 1, flags: {} },
  resume: { usage: "resume ID", summary: "thaw a paused container", args: 1, flags: {} },
  update: {
    usage: "update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID",
    summary: "change a container's resource limits", args: 1,
    flags: { resources: { kind: "string", alias: "r" }, memory: { kind: "string" }, "memory-swap": { kind: "string" }, "memory-reservation": { kind: "string" }, "cpu-shares": { kind: "string" }, "cpu-quota": { kind: "string" }, "cpu-period": { kind: "string" }, "cpuset-cpus": { kind: "string" }, "cpuset-mems": { kind: "string" }, "pids-limit": { kind: "string" }, "blkio-weight": { kind: "string" } },
  },
  events: { usage: "events [--stats] [--interval D] ID", summary: "print container events / resource stats", args: 1, flags: { stats: { kind: "bool" }, interval: { kind: "string" } } },
  spec: { usage: "spec [--bundle DIR] [--rootless]", summary: "write a default config.json", args: 0, flags: { bundle: BUNDLE, rootless: { kind: "bool" } } },
  features: { usage: "features", summary: "print the features this runtime implements as JSON", args: 0, flags: {} },
  init: { usage: "init", summary: "internal: the container's first stage (never called by users)", args: -1, flags: {} },
};

export interface ParsedCli {
  global: Record<string, string | boolean>;
  command?: string;
  flags: Record<string, string | boolean | number | string[]>;
  args: string[];
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `[global flags] command [flags] args`; repeated string flags (--env) collect into arrays. */
export function parseCli(argv: string[]): ParsedCli {
  const out: ParsedCli = { global: {}, flags: {}, args: [] };
  let i = 0;
  i = takeFlags(argv, i, GLOBAL_FLAGS, out.global as ParsedCli["flags"], "global", true);
  if (i >= argv.length) return out;
  const command = argv[i]!;
  if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"; see --help`);
  out.command = command;
  const spec = COMMANDS[command]!;
  // exec/ps stop taking flags at the first positional after the id, like runc.
  const stopAtArgs = spec.args === -1;
  i = takeFlags(argv, i + 1, spec.flags, out.flags, command, !stopAtArgs, out.args);
  out.args.push(...argv.slice(i));
  if (spec.args >= 0 && out.args.length !== spec.args) {
    throw new UsageError(`"${command}" requires exactly ${spec.args} argument${spec.args === 1 ? "" : "s"}; usage: ${spec.usage}`);
  }
  return out;
}

function takeFlags(
  argv: string[], start: number, table: Record<string, FlagSpec>, into: ParsedCli["flags"],
  where: string, stopAtFirstArg: boolean, positional?: string[],
): number {
  let i = start;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === "--") return i + 1;
    if (!a.startsWith("-") || a === "-") {
      if (stopAtFirstArg || !positional || positional.length > 0) return i;
      positional.push(a);
      i++;
      continue;
    }
    const eq = a.indexOf("=");
    const rawName = a.replace(/^--?/, "").slice(0, eq === -1 ? undefined : eq - (a.startsWith("--") ? 2 : 1));
    const name = table[rawName] ? rawName : Object.keys(table).find((k) => table[k]!.alias === rawName);
    if (!name) throw new UsageError(`flag provided but not defined: -${rawName} (${where})`);
    const spec = table[name]!;
    let value: string | undefined = eq === -1 ? undefined : a.slice(eq + 1);
    if (spec.kind === "bool") {
      into[name] = value === undefined ? true : value !== "false";
      i++;
      continue;
    }
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`);
      i += 2;
    } else i++;
    if (spec.kind === "int") {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new UsageError(`invalid value "${value}" for flag --${name}: not an integer`);
      into[name] = n;
    } else if (into[name] !== undefined && (name === "env" || name === "cap" || name === "additional-gids")) {
      const prev = into[name];
      into[name] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
    } else into[name] = value;
  }
  return i;
}

export function helpText(): string {
  const lines = [
    "sysbox-runc: an OCI runtime for system containers",
    "",
    "usage: sysbox-runc [global flags] COMMAND [flags] [args]",
    "",
    "global flags:",
    "  --root DIR           state directory (default /run/sysbox-runc)",
    "  --log FILE           log file (default stderr)",
    "  --log-format FORMAT  text or json (default text)",
    "  --debug              log at debug level",
    "  --systemd-cgroup     treat cgroupsPath as slice:prefix:name (systemd driver)",
    "  --no-sysbox-mgr      do not use sysbox-mgr: one fixed ID range, no host-backed dirs",
    "  --no-sysbox-fs       do not use sysbox-fs: /proc and /sys are not virtualized",
    "  --version, --help",
    "",
    "commands:",
  ];
  for (const [name, c] of Object.entries(COMMANDS)) if (name !== "init") lines.push(`  ${name.padEnd(9)} ${c.summary}\n             ${c.usage}`);
  return lines.join("\n") + "\n";
}
