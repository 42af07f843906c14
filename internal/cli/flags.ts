/**
 * Command-line flags as a table, so that parsing, `--help` and the typed
 * accessors cannot drift apart. Shared by sysbox-runc (global flags, then a
 * command and its flags, as runc spells them) and the two daemons (flags
 * only). A long flag takes one or two dashes and `--flag value` or
 * `--flag=value`, as Go's flag package (runc's and Sysbox's parser) does.
 */

/**
 * bool: set by its presence (`--x=false` clears it); string and int: take a
 * value; list: a string that may repeat, every value kept in order.
 */
export type FlagKind = "bool" | "string" | "int" | "list";

export interface Flag {
  name: string;
  /** A one-letter alias, `-x`. */
  short?: string;
  kind: FlagKind;
  /** Placeholder for the value in help, e.g. FILE. */
  arg?: string;
  /** Allowed values, checked while parsing and listed in help. */
  choices?: readonly string[];
  /** The value when the flag is not given (string and int flags). */
  default?: string;
  help: string;
  /**
   * Accepted for compatibility but without effect: says what happens
   * instead. Whoever runs the command warns about it once (ignoredGiven).
   */
  ignored?: string;
}

/** A command line that cannot run; the binary prints it and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The values of one flag table, by name; asking for a name the table lacks is a programmer error (TypeError). */
export interface Flags {
  str(name: string): string | undefined;
  bool(name: string): boolean;
  int(name: string): number | undefined;
  list(name: string): string[];
  /** Whether the flag was on the command line (not just defaulted). */
  given(name: string): boolean;
}

/**
 * Where positional arguments may appear:
 *   none   any is a usage error (the daemons)
 *   stop   flags end at the first one (runc's global flags; commands with a fixed number of arguments)
 *   after  the first one (a container id) may be followed by more flags; flags end at the second (exec, kill, ps)
 */
export type Positionals = "none" | "stop" | "after";

export interface Parsed {
  flags: Flags;
  /** Positional arguments and everything after the point flags ended (`--` dropped). */
  rest: string[];
}

// Go's strconv.ParseBool, which runc's flags accept after `=`.
const TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** Parses `argv` against `table`; throws UsageError on anything unknown or invalid. */
export function parseFlags(argv: readonly string[], table: readonly Flag[], positionals: Positionals = "none"): Parsed {
  const values = new Map<string, string | boolean | number | string[]>();
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--" && positionals !== "none") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-" || a === "--") {
      if (positionals === "none") throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
      if (positionals === "stop" || rest.length > 0) break;
      rest.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = eq === -1 ? a : a.slice(0, eq);
    const inline = eq === -1 ? undefined : a.slice(eq + 1);
    const bare = key.replace(/^--?/, "");
    const spec = table.find((f) => f.name === bare) ?? table.find((f) => f.short !== undefined && f.short === bare);
    if (!spec) throw new UsageError(`unknown flag ${key}`);
    if (spec.kind === "bool") {
      if (inline !== undefined && !TRUE.has(inline) && !FALSE.has(inline)) throw new UsageError(`flag --${spec.name} takes no value`);
      values.set(spec.name, inline === undefined || TRUE.has(inline));
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag --${spec.name} needs a value`);
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`invalid value ${JSON.stringify(value)} for --${spec.name}: expected one of ${spec.choices.join("|")}`);
    }
    if (spec.kind === "int") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isInteger(n)) throw new UsageError(`invalid value ${JSON.stringify(value)} for --${spec.name}: not an integer`);
      values.set(spec.name, n);
    } else if (spec.kind === "list") {
      values.set(spec.name, [...((values.get(spec.name) as string[] | undefined) ?? []), value]);
    } else {
      values.set(spec.name, value);
    }
  }
  rest.push(...argv.slice(i));
  return { flags: flagsOf(table, values), rest };
}

/** The flags of `table` that were given although they have no effect, for a warning each. */
export function ignoredGiven(table: readonly Flag[], flags: Flags): Array<{ flag: string; ignored: string }> {
  return table.filter((f) => f.ignored !== undefined && flags.given(f.name)).map((f) => ({ flag: `--${f.name}`, ignored: f.ignored! }));
}

function flagsOf(table: readonly Flag[], values: ReadonlyMap<string, string | boolean | number | string[]>): Flags {
  const spec = (name: string, kinds: readonly FlagKind[]): Flag => {
    const f = table.find((s) => s.name === name);
    if (!f) throw new TypeError(`no flag --${name} in this table`);
    if (!kinds.includes(f.kind)) throw new TypeError(`flag --${name} is ${f.kind}, not ${kinds.join(" or ")}`);
    return f;
  };
  return {
    str(name) {
      const f = spec(name, ["string"]);
      return (values.get(name) as string | undefined) ?? f.default;
    },
    bool(name) {
      spec(name, ["bool"]);
      return values.get(name) === true;
    },
    int(name) {
      const f = spec(name, ["int"]);
      return (values.get(name) as number | undefined) ?? (f.default === undefined ? undefined : Number(f.default));
    },
    list(name) {
      spec(name, ["list"]);
      return [...((values.get(name) as string[] | undefined) ?? [])];
    },
    given(name) {
      spec(name, ["bool", "string", "int", "list"]);
      return values.has(name);
    },
  };
}
