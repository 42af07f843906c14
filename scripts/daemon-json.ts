/**
 * Registers or unregisters sysbox-runc as a Docker runtime in daemon.json.
 * The merge functions are pure; the CLI only writes when something changed,
 * keeps every other key, and leaves an unparsable file untouched.
 *
 *   bun scripts/daemon-json.ts add|remove [--path P] [--file F] [--name N]
 *   bun scripts/daemon-json.ts keys [--file F]    (top-level keys, one a line)
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const DEFAULT_FILE = "/etc/docker/daemon.json";
export const DEFAULT_NAME = "sysbox-runc";
export const DEFAULT_PATH = "/usr/bin/sysbox-runc";

export type DaemonConfig = Record<string, unknown>;

export class DaemonJsonError extends Error {
  override name = "DaemonJsonError";
}

export interface MergeResult {
  config: DaemonConfig;
  changed: boolean;
  /** One line for the user: what happened and why. */
  message: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses daemon.json text. Empty or blank text is an empty config. */
export function parseConfig(text: string, file = "daemon.json"): DaemonConfig {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DaemonJsonError(`${file} is not valid JSON (${(e as Error).message}); left untouched`);
  }
  if (!isObject(value)) {
    throw new DaemonJsonError(`${file} must hold a JSON object at the top level; left untouched`);
  }
  if ("runtimes" in value && !isObject(value.runtimes)) {
    throw new DaemonJsonError(`${file}: "runtimes" must be an object; left untouched`);
  }
  return value;
}

export function formatConfig(config: DaemonConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Adds runtimes[name] = {path}. An entry that already has this path is kept
 * as it is (with any runtimeArgs); an entry with another path is a conflict,
 * never overwritten.
 */
export function addRuntime(config: DaemonConfig, name: string, path: string): MergeResult {
  const runtimes = isObject(config.runtimes) ? config.runtimes : {};
  const existing = runtimes[name];
  if (existing !== undefined) {
    if (isObject(existing) && existing.path === path) {
      return { config, changed: false, message: `runtime ${name} already registered (${path})` };
    }
    const had = isObject(existing) ? String(existing.path) : JSON.stringify(existing);
    throw new DaemonJsonError(
      `runtime ${name} is already registered with path ${had}, not ${path}; remove it first`,
    );
  }
  const next: DaemonConfig = { ...config, runtimes: { ...runtimes, [name]: { path } } };
  return { config: next, changed: true, message: `registered runtime ${name} (${path})` };
}

/**
 * Removes runtimes[name]. With `path`, only an entry with that path is
 * removed. The "runtimes" object stays, even empty: a running dockerd
 * replaces its runtimes on reload (SIGHUP) only when daemon.json has the
 * key, so dropping it would leave the runtime registered until a restart.
 * A "default-runtime" naming the removed runtime is dropped too (Docker's
 * default, runc, applies again), and the message says so.
 */
export function removeRuntime(config: DaemonConfig, name: string, path?: string): MergeResult {
  const runtimes = isObject(config.runtimes) ? config.runtimes : undefined;
  const existing = runtimes?.[name];
  let next: DaemonConfig;
  let message: string;
  if (runtimes === undefined || existing === undefined) {
    // A default naming a runtime that is not there keeps dockerd from starting.
    if (config["default-runtime"] !== name) {
      return { config, changed: false, message: `runtime ${name} is not registered` };
    }
    next = { ...config };
    message = `runtime ${name} is not registered`;
  } else {
    if (path !== undefined && !(isObject(existing) && existing.path === path)) {
      const had = isObject(existing) ? String(existing.path) : JSON.stringify(existing);
      return { config, changed: false, message: `runtime ${name} has path ${had}, not ${path}; kept` };
    }
    const { [name]: _removed, ...rest } = runtimes;
    next = { ...config, runtimes: rest };
    message = `removed runtime ${name}`;
  }
  if (next["default-runtime"] === name) {
    delete next["default-runtime"];
    message += `; "default-runtime" was ${name}: removed too (Docker's default, runc, applies again)`;
  }
  return { config: next, changed: true, message };
}

interface Args {
  command: string;
  file: string;
  name: string;
  path?: string;
}

const USAGE = "usage: bun scripts/daemon-json.ts add|remove|keys [--path P] [--file F] [--name N]";

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== "add" && command !== "remove" && command !== "keys") throw new DaemonJsonError(USAGE);
  const args: Args = { command, file: DEFAULT_FILE, name: DEFAULT_NAME };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if ((flag === "--path" || flag === "--file" || flag === "--name") && value !== undefined) {
      args[flag.slice(2) as "path" | "file" | "name"] = value;
      i++;
    } else {
      throw new DaemonJsonError(`unexpected argument ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  if (args.command === "add" && args.path === undefined) args.path = DEFAULT_PATH;
  return args;
}

/** Writes through a temporary file and rename, keeping the file's mode. */
function writeAtomic(file: string, text: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o7777 : 0o644;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode); // not masked by the umask
  renameSync(tmp, file);
}

function main(argv: string[]): number {
  const args = parseArgs(argv);
  const text = existsSync(args.file) ? readFileSync(args.file, "utf8") : "";
  const config = parseConfig(text, args.file);
  if (args.command === "keys") {
    for (const key of Object.keys(config)) console.log(key);
    return 0;
  }
  const result =
    args.command === "add"
      ? addRuntime(config, args.name, args.path ?? DEFAULT_PATH)
      : removeRuntime(config, args.name, args.path);
  if (result.changed) writeAtomic(args.file, formatConfig(result.config));
  console.log(`${args.file}: ${result.message}`);
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof DaemonJsonError)) throw e;
    console.error(`daemon-json: ${e.message}`);
    process.exitCode = 1;
  }
}
