/**
 * sysbox-runc's command line, runc-compatible: global flags come before the
 * command, each command has its own flags, and both accept `--flag value`
 * and `--flag=value`. One table entry per command carries its usage, its
 * flags and the handler that runs it, so the table and the dispatch cannot
 * list the commands twice. Parsing is pure (testable without a container).
 */
import { parseFlags, UsageError, type Flag, type Flags, type Positionals } from "../cli/mod.ts";
import type { Logger } from "../log/mod.ts";
import { DEFAULT_ROOT } from "./state.ts";

// sysbox-runc runs once per container operation, so start-up time counts:
// a handler loads the runtime only when it runs, and `--version`, `--help`
// or a usage error never pay for it (nor for mgr, sysbox-fs, seccomp, pty).
const runtime = () => import("./commands.ts");

/** The container's first stage (`sysbox-runc init`), started by create and exec; never returns. */
export async function runInitStage(): Promise<never> {
  return (await import("./init.ts")).runInit();
}

export const GLOBAL_FLAGS: readonly Flag[] = [
  { name: "root", kind: "string", arg: "DIR", default: DEFAULT_ROOT, help: "state directory" },
  { name: "log", kind: "string", arg: "FILE", help: "log file (default stderr)" },
  { name: "log-format", kind: "string", arg: "FORMAT", default: "text", help: "text or json" },
  { name: "debug", kind: "bool", help: "log at debug level" },
  { name: "systemd-cgroup", kind: "bool", help: "treat cgroupsPath as slice:prefix:name (systemd driver)" },
  { name: "no-sysbox-mgr", kind: "bool", help: "do not use sysbox-mgr: one fixed ID range, no host-backed dirs" },
  { name: "no-sysbox-fs", kind: "bool", help: "do not use sysbox-fs: /proc and /sys are not virtualized" },
  { name: "criu", kind: "string", arg: "PATH", help: "criu binary", ignored: "checkpoint and restore are not supported" },
  { name: "rootless", kind: "string", arg: "VALUE", help: "rootless mode", ignored: "sysbox-runc always runs as root" },
  { name: "help", short: "h", kind: "bool", help: "show help" },
  { name: "version", short: "v", kind: "bool", help: "print the version" },
];

/** What a handler gets: the parsed command line, a logger, and stdout. */
export interface CommandContext {
  root: string;
  global: Flags;
  flags: Flags;
  /** Positional arguments; args[0] is the container id for every command that takes one. */
  args: string[];
  id: string;
  /** The command's name, as typed. */
  command: string;
  log: Logger;
  out(text: string): void;
}

export interface Command {
  usage: string;
  summary: string;
  /** How many positional arguments; -1: an id, then flags, then any number (exec, kill, ps). */
  args: number;
  /** With args -1: at most this many positional arguments (kill: id and signal). */
  max?: number;
  /**
   * Where flags may appear: by default anywhere after the command (runc
   * moves flags that follow the id before it); "stop" for ps, whose
   * arguments after the id are ps's own.
   */
  positionals?: Positionals;
  /** A runc command sysbox-runc does not implement: its arguments are not parsed, and it fails with a clear error. */
  unsupported?: boolean;
  flags: readonly Flag[];
  /** Runs the command; resolves to the exit code. */
  run(c: CommandContext): Promise<number>;
}

const BUNDLE: Flag = { name: "bundle", short: "b", kind: "string", arg: "DIR", default: ".", help: "the bundle directory" };
const PID_FILE: Flag = { name: "pid-file", kind: "string", arg: "FILE", help: "write the process's pid to FILE" };
const CONSOLE: Flag = { name: "console-socket", kind: "string", arg: "SOCKET", help: "send the pty master to SOCKET" };
const PRESERVE_FDS: Flag = { name: "preserve-fds", kind: "int", arg: "N", default: "0", help: "pass N more fds (from 3)" };
const NO_PIVOT: Flag = { name: "no-pivot", kind: "bool", help: "use chroot-like MS_MOVE instead of pivot_root" };
const NO_NEW_KEYRING: Flag = { name: "no-new-keyring", kind: "bool", help: "keep the session keyring", ignored: "the container gets no session keyring of its own either way" };
const DETACH: Flag = { name: "detach", short: "d", kind: "bool", help: "do not wait for the process" };

/** `update`'s per-knob flags and the LinuxResources field each sets (through runtime/ops.ts). */
const UPDATE_KNOBS = [
  ["memory", "memory"], ["memory-swap", "memorySwap"], ["memory-reservation", "memoryReservation"],
  ["cpu-shares", "cpuShares"], ["cpu-quota", "cpuQuota"], ["cpu-period", "cpuPeriod"],
  ["cpuset-cpus", "cpusetCpus"], ["cpuset-mems", "cpusetMems"], ["pids-limit", "pidsLimit"], ["blkio-weight", "blkioWeight"],
] as const;

/** What `update` asks for, typed; the values are the flags' text, checked by the runtime. */
export type UpdateRequest = { resources?: string } & Partial<Record<(typeof UPDATE_KNOBS)[number][1], string>>;

export function updateRequest(f: Flags): UpdateRequest {
  const req: UpdateRequest = {};
  const resources = f.str("resources");
  if (resources !== undefined) req.resources = resources;
  for (const [flag, key] of UPDATE_KNOBS) {
    const v = f.str(flag);
    if (v !== undefined) req[key] = v;
  }
  return req;
}

/** Adapter: runtime/ops.ts updateContainer still reads the request by flag spelling. */
function opsUpdateFlags(req: UpdateRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (req.resources !== undefined) out.resources = req.resources;
  for (const [flag, key] of UPDATE_KNOBS) if (req[key] !== undefined) out[flag] = req[key];
  return out;
}

/** create and run share their options. */
function createOptions(c: CommandContext) {
  return {
    root: c.root, id: c.id, log: c.log,
    noSysboxMgr: c.global.bool("no-sysbox-mgr"), noSysboxFs: c.global.bool("no-sysbox-fs"), systemdCgroup: c.global.bool("systemd-cgroup"),
    bundle: c.flags.str("bundle")!, pidFile: c.flags.str("pid-file"), consoleSocket: c.flags.str("console-socket"),
    noPivot: c.flags.bool("no-pivot"), preserveFds: c.flags.int("preserve-fds")!,
  };
}

/** checkpoint and restore need CRIU, which cannot restore a system container's user namespace and sysbox-fs mounts. */
function unsupported(summary: string): Command {
  return {
    usage: "[command options] <container-id>", summary, args: -1, flags: [], unsupported: true,
    run: (c) => Promise.reject(new Error(`${c.command} is not supported by sysbox-runc`)),
  };
}

/** Every command and its flags, as runc spells them. */
export const COMMANDS: Record<string, Command> = {
  create: {
    usage: "[command options] <container-id>",
    summary: "create a container", args: 1,
    flags: [BUNDLE, PID_FILE, CONSOLE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS],
    run: async (c) => {
      await (await runtime()).createContainer(createOptions(c));
      return 0;
    },
  },
  start: {
    usage: "<container-id>", summary: "executes the user defined process in a created container", args: 1, flags: [],
    run: async (c) => {
      await (await runtime()).startContainer(c.root, c.id, c.log);
      return 0;
    },
  },
  run: {
    usage: "[command options] <container-id>",
    summary: "create and start a container", args: 1,
    flags: [BUNDLE, PID_FILE, CONSOLE, DETACH, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS, { name: "keep", kind: "bool", help: "keep the container's state after it exits" }],
    run: async (c) => (await runtime()).runContainer({ ...createOptions(c), detach: c.flags.bool("detach"), keep: c.flags.bool("keep") }),
  },
  exec: {
    usage: "[command options] <container-id> <command> [command options]  || -p process.json <container-id>",
    summary: "execute new process inside the container", args: -1,
    flags: [
      { name: "process", short: "p", kind: "string", arg: "FILE", help: "the process spec (JSON) to run" },
      DETACH, PID_FILE, CONSOLE,
      { name: "tty", short: "t", kind: "bool", help: "allocate a pty" },
      { name: "cwd", kind: "string", arg: "DIR", help: "working directory" },
      { name: "env", short: "e", kind: "list", arg: "K=V", help: "add an environment variable" },
      { name: "user", short: "u", kind: "string", arg: "UID[:GID]", help: "run as this user" },
      PRESERVE_FDS,
      { name: "cgroup", kind: "list", arg: "[CONTROLLERS:]PATH", help: "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>." },
      { name: "ignore-paused", kind: "bool", help: "allow exec in a paused container" },
      { name: "no-new-privs", kind: "bool", help: "set no_new_privs", ignored: "the process gets the container's noNewPrivileges (or that of --process FILE)" },
      { name: "cap", short: "c", kind: "list", arg: "CAP", help: "add a capability", ignored: "the process gets the container's capabilities (or those of --process FILE)" },
      { name: "additional-gids", short: "g", kind: "list", arg: "GID", help: "add a supplementary group", ignored: "the process gets the container's groups (or those of --process FILE)" },
      { name: "process-label", kind: "string", arg: "LABEL", help: "SELinux label", ignored: "SELinux labels are not supported" },
      { name: "apparmor", kind: "string", arg: "PROFILE", help: "AppArmor profile", ignored: "the process gets the container's AppArmor profile" },
    ],
    run: async (c) => (await runtime()).execInContainer({
      root: c.root, id: c.id, log: c.log, processFile: c.flags.str("process"), args: c.args.slice(1), detach: c.flags.bool("detach"),
      pidFile: c.flags.str("pid-file"), consoleSocket: c.flags.str("console-socket"), tty: c.flags.bool("tty"), cwd: c.flags.str("cwd"),
      env: c.flags.list("env"), user: c.flags.str("user"), preserveFds: c.flags.int("preserve-fds")!, cgroups: c.flags.list("cgroup"),
      ignorePaused: c.flags.bool("ignore-paused"),
    }),
  },
  kill: {
    usage: "[command options] <container-id> [signal]", summary: "kill sends the specified signal (default: SIGTERM) to the container's init process", args: -1, max: 2,
    flags: [{ name: "all", short: "a", kind: "bool", help: "signal every process of the container" }],
    run: async (c) => {
      const rt = await runtime();
      await rt.killContainer(c.root, c.id, rt.parseSignal(c.args[1] ?? "SIGTERM"), c.flags.bool("all"));
      return 0;
    },
  },
  delete: {
    usage: "[command options] <container-id>", summary: "delete any resources held by the container often used with detached container", args: 1,
    flags: [{ name: "force", short: "f", kind: "bool", help: "kill a running container first" }],
    run: async (c) => {
      await (await runtime()).deleteContainer(c.root, c.id, c.flags.bool("force"), c.log);
      return 0;
    },
  },
  state: {
    usage: "<container-id>", summary: "output the state of a container", args: 1, flags: [],
    run: async (c) => {
      c.out(JSON.stringify((await runtime()).containerState(c.root, c.id), null, 2) + "\n");
      return 0;
    },
  },
  list: {
    usage: "[command options]", summary: "lists containers started by sysbox-runc with the given root", args: 0,
    flags: [
      { name: "format", short: "f", kind: "string", arg: "FORMAT", default: "table", help: "table or json" },
      { name: "quiet", short: "q", kind: "bool", help: "print the ids only" },
    ],
    run: async (c) => {
      const rt = await runtime();
      c.out(rt.formatList(rt.listContainers(c.root), c.flags.str("format")!, c.flags.bool("quiet")));
      return 0;
    },
  },
  ps: {
    usage: "[command options] <container-id> [ps options]", summary: "ps displays the processes running inside a container", args: -1, positionals: "stop",
    flags: [{ name: "format", short: "f", kind: "string", arg: "FORMAT", default: "table", help: "table or json" }],
    run: async (c) => {
      const rt = await runtime();
      c.out(await rt.formatPs(rt.containerPids(c.root, c.id), c.flags.str("format")!, c.args.slice(1)));
      return 0;
    },
  },
  pause: {
    usage: "<container-id>", summary: "pause suspends all processes inside the container", args: 1, flags: [],
    run: async (c) => {
      await (await runtime()).pauseContainer(c.root, c.id, c.log);
      return 0;
    },
  },
  resume: {
    usage: "<container-id>", summary: "resumes all processes that have been previously paused", args: 1, flags: [],
    run: async (c) => {
      await (await runtime()).resumeContainer(c.root, c.id);
      return 0;
    },
  },
  update: {
    usage: "[command options] <container-id>",
    summary: "update container resource constraints", args: 1,
    flags: [
      { name: "resources", short: "r", kind: "string", arg: "FILE", help: "LinuxResources JSON from FILE, or - for stdin" },
      ...UPDATE_KNOBS.map(([name]): Flag => ({ name, kind: "string", arg: "N", help: name.replace("-", " ") })),
    ],
    run: async (c) => {
      await (await runtime()).updateContainer(c.root, c.id, opsUpdateFlags(updateRequest(c.flags)), c.log);
      return 0;
    },
  },
  events: {
    usage: "[command options] <container-id>", summary: "display container events such as OOM notifications, cpu, memory, and IO usage statistics", args: 1,
    flags: [
      { name: "stats", kind: "bool", help: "print the stats once and exit" },
      { name: "interval", kind: "string", arg: "D", default: "5s", help: "time between stats" },
    ],
    run: async (c) => (await runtime()).containerEvents(c.root, c.id, c.flags.bool("stats"), c.flags.str("interval")!),
  },
  spec: {
    usage: "[command options]", summary: "create a new specification file", args: 0,
    flags: [BUNDLE, { name: "rootless", kind: "bool", help: "a spec for rootless containers", ignored: "the spec is the default one for root" }],
    run: async (c) => {
      (await runtime()).writeDefaultSpec(c.flags.str("bundle")!);
      return 0;
    },
  },
  features: {
    usage: "", summary: "show the enabled features", args: 0, flags: [],
    run: async (c) => {
      c.out(JSON.stringify((await runtime()).features(), null, 2) + "\n");
      return 0;
    },
  },
  checkpoint: unsupported("checkpoint a running container"),
  restore: unsupported("restore a container from a previous checkpoint"),
  init: {
    usage: "", summary: "internal: the container's first stage (never called by users)", args: -1, flags: [],
    run: runInitStage,
  },
};

/**
 * A command line runc would refuse, with runc's exit code: 3 for an unknown
 * command (urfave/cli's "No help topic"), 1 for the rest, which also print
 * "Incorrect Usage." and the command's help on stdout (`help`).
 */
export class CliUsageError extends UsageError {
  constructor(message: string, readonly exitCode: 1 | 3, readonly help?: string) {
    super(message);
  }
}

export interface ParsedCli {
  global: Flags;
  command?: string;
  flags: Flags;
  args: string[];
  /** `-h`/`--help` after the command: print its help and exit 0. */
  help: boolean;
  /** The command part could not be parsed; the global flags could (so logging can be set up). */
  error?: CliUsageError;
}

const HELP_FLAG: Flag = { name: "help", short: "h", kind: "bool", help: "show help" };
const NONE = parseFlags([], []).flags;

/** Parses `[global flags] command [flags] args`; throws UsageError only when the global flags are wrong. */
export function parseCli(argv: string[]): ParsedCli {
  const g = parseFlags(argv, GLOBAL_FLAGS, "stop");
  const [command, ...after] = g.rest;
  const base = { global: g.flags, flags: NONE, args: [], help: false };
  if (command === undefined) return base;
  if (command === "help" || command === "h") {
    if (after[0] === undefined) return { ...base, help: true };
    return Object.hasOwn(COMMANDS, after[0]) ? { ...base, command: after[0], help: true } : { ...base, error: unknownCommand(after[0]) };
  }
  if (!Object.hasOwn(COMMANDS, command)) return { ...base, error: unknownCommand(command) };
  const spec = COMMANDS[command]!;
  const wrong = (msg: string) => ({ ...base, command, error: new CliUsageError(msg, 1, commandHelp(command)) });
  if (spec.unsupported) {
    const help = after[0] === "-h" || after[0] === "--help" || after[0] === "-help";
    return { ...base, command, help, args: after };
  }
  let c;
  try {
    c = parseFlags(after, [...spec.flags, HELP_FLAG], spec.positionals ?? "after");
  } catch (e) {
    if (e instanceof UsageError) return wrong(e.message);
    throw e;
  }
  if (c.flags.bool("help")) return { ...base, command, help: true };
  const n = c.rest.length;
  if (spec.args >= 0 && n !== spec.args) return wrong(`"${command}" requires exactly ${spec.args} argument(s)`);
  if (spec.args === -1 && n < 1) return wrong(`"${command}" requires a minimum of 1 argument(s)`);
  if (spec.max !== undefined && n > spec.max) return wrong(`"${command}" requires a maximum of ${spec.max} argument(s)`);
  return { global: g.flags, command, flags: c.flags, args: c.rest, help: false };
}

/**
 * What the binary logs and exits with when a command fails: a Node fs error
 * reworded as the SysError it stands for; exec's failures as runc words them
 * ("exec failed: ...") and with its exit code 255, so a caller can tell them
 * from the exit code of the process it ran.
 */
export async function failure(command: string, e: unknown): Promise<{ message: string; exitCode: number }> {
  const { fromNodeError } = await import("../sys/errno.ts");
  const err = fromNodeError(e);
  const message = err instanceof Error ? err.message : String(err);
  if (command === "exec") return { message: `exec failed: ${message}`, exitCode: 255 };
  return { message, exitCode: err instanceof UsageError ? 2 : 1 };
}

function unknownCommand(name: string): CliUsageError {
  return new CliUsageError(`No help topic for '${name}'`, 3);
}

/** Commands in the order runc lists them. */
const LISTED = ["checkpoint", "create", "delete", "events", "exec", "kill", "list", "pause", "ps", "restore", "resume", "run", "spec", "start", "state", "update", "features"];

/** Flag lines in urfave/cli's layout: `--name value, -n value  help (default: "x")`. */
function optionLines(table: readonly Flag[]): string[] {
  const shown = table.filter((f) => f.ignored === undefined);
  const left = shown.map((f) => {
    const v = f.kind === "bool" ? "" : " value";
    return `--${f.name}${v}${f.short ? `, -${f.short}${v}` : ""}`;
  });
  const width = Math.max(0, ...left.map((l) => l.length));
  return shown.map((f, i) => `   ${left[i]!.padEnd(width)}  ${f.help}${f.default !== undefined ? ` (default: ${f.kind === "int" ? f.default : JSON.stringify(f.default)})` : ""}`);
}

/** `sysbox-runc --help`, in runc's layout. */
export function helpText(version = ""): string {
  const width = Math.max(...LISTED.map((n) => n.length)) + 2;
  return [
    "NAME:",
    "   sysbox-runc - an OCI runtime for system containers",
    "",
    "USAGE:",
    "   sysbox-runc [global options] command [command options] [arguments...]",
    ...(version ? ["", "VERSION:", `   ${version.trimEnd().replace(/^\S+ version /, "")}`] : []),
    "",
    "COMMANDS:",
    ...LISTED.map((n) => `   ${n.padEnd(width)}${COMMANDS[n]!.summary}`),
    `   ${"help, h".padEnd(width)}Shows a list of commands or help for one command`,
    "",
    "GLOBAL OPTIONS:",
    ...optionLines(GLOBAL_FLAGS),
  ].join("\n") + "\n";
}

/** `sysbox-runc COMMAND --help`, in runc's layout. */
export function commandHelp(name: string): string {
  const c = COMMANDS[name];
  if (!c) throw new TypeError(`no command ${name}`);
  const options = optionLines(c.flags);
  return [
    "NAME:",
    `   sysbox-runc ${name} - ${c.summary}`,
    "",
    "USAGE:",
    `   sysbox-runc ${name}${c.usage ? ` ${c.usage}` : ""}`,
    ...(options.length ? ["", "OPTIONS:", ...options] : []),
  ].join("\n") + "\n";
}
