import { describe, expect, test } from "bun:test";
import { ignoredGiven, parseFlags, UsageError, type Flag } from "./flags.ts";
import { flagLines, usageText } from "./help.ts";

const TABLE: readonly Flag[] = [
  { name: "bundle", short: "b", kind: "string", arg: "DIR", default: ".", help: "bundle" },
  { name: "detach", short: "d", kind: "bool", help: "detach" },
  { name: "preserve-fds", kind: "int", default: "0", help: "fds" },
  { name: "env", short: "e", kind: "list", help: "env" },
  { name: "format", kind: "string", choices: ["table", "json"], help: "format" },
  { name: "cap", kind: "list", help: "cap", ignored: "not implemented" },
];

const usage = (argv: string[], positionals: "none" | "stop" | "after" = "none") => {
  try {
    parseFlags(argv, TABLE, positionals);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("parseFlags", () => {
  test("defaults through the typed accessors", () => {
    const { flags, rest } = parseFlags([], TABLE);
    expect([flags.str("bundle"), flags.bool("detach"), flags.int("preserve-fds"), flags.list("env"), flags.str("format")]).toEqual([".", false, 0, [], undefined]);
    expect(flags.given("bundle")).toBe(false);
    expect(rest).toEqual([]);
  });

  test("long names with one or two dashes, short aliases, both value forms", () => {
    const { flags } = parseFlags(["-bundle", "/b", "-d", "--preserve-fds=3", "-e", "A=1", "--env=B=2", "--format", "json"], TABLE);
    expect([flags.str("bundle"), flags.bool("detach"), flags.int("preserve-fds"), flags.list("env"), flags.str("format")]).toEqual(["/b", true, 3, ["A=1", "B=2"], "json"]);
    expect(parseFlags(["--b=/x"], TABLE).flags.str("bundle")).toBe("/x");
  });

  test("a bool takes an explicit true or false after '=', never the next argument", () => {
    expect(parseFlags(["--detach=false"], TABLE).flags.bool("detach")).toBe(false);
    expect(parseFlags(["--detach=true"], TABLE).flags.bool("detach")).toBe(true);
    expect(parseFlags(["--detach", "false"], TABLE, "stop").rest).toEqual(["false"]);
  });

  test("positionals: none, stop at the first, or flags after the first", () => {
    expect(usage(["x"])).toBe('unexpected argument "x"');
    expect(usage(["--"])).toBe('unexpected argument "--"');
    expect(parseFlags(["-d", "id", "--bundle", "/b"], TABLE, "stop").rest).toEqual(["id", "--bundle", "/b"]);
    const after = parseFlags(["-d", "id", "--bundle", "/b", "sh", "-c", "x"], TABLE, "after");
    expect(after.rest).toEqual(["id", "sh", "-c", "x"]);
    expect(after.flags.str("bundle")).toBe("/b");
    expect(parseFlags(["id", "--", "--bundle"], TABLE, "after").rest).toEqual(["id", "--bundle"]);
    expect(parseFlags(["-", "x"], TABLE, "stop").rest).toEqual(["-", "x"]);
  });

  test("errors are clear", () => {
    expect(usage(["--bogus"])).toBe("unknown flag --bogus");
    expect(usage(["-x=1"])).toBe("unknown flag -x");
    expect(usage(["--bundle"])).toBe("flag --bundle needs a value");
    expect(usage(["--detach=yes"])).toBe("flag --detach takes no value");
    expect(usage(["--preserve-fds", "two"])).toBe('invalid value "two" for --preserve-fds: not an integer');
    expect(usage(["--format=xml"])).toBe('invalid value "xml" for --format: expected one of table|json');
  });

  test("asking for a flag the table lacks, or as the wrong kind, is a TypeError", () => {
    const { flags } = parseFlags([], TABLE);
    expect(() => flags.str("nope")).toThrow(TypeError);
    expect(() => flags.bool("bundle")).toThrow(TypeError);
  });

  test("ignored flags given are listed once each, with what happens instead", () => {
    expect(ignoredGiven(TABLE, parseFlags(["--cap", "CAP_X", "--cap", "CAP_Y", "-d"], TABLE).flags)).toEqual([{ flag: "--cap", ignored: "not implemented" }]);
    expect(ignoredGiven(TABLE, parseFlags(["-d"], TABLE).flags)).toEqual([]);
  });
});

describe("help", () => {
  test("one aligned line per flag with choices and default; ignored flags not offered", () => {
    const lines = flagLines(TABLE);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("  -b, --bundle DIR    bundle (default .)");
    expect(lines[4]).toBe("      --format        format (one of table|json)");
    expect(usageText("x", "Does x.", TABLE)).toStartWith("Usage: x [flags]\n\nDoes x.\n\nFlags:\n  -b, --bundle DIR");
  });
});
