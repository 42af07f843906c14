import { describe, expect, test } from "bun:test";
import { UsageError, type Flag } from "../cli/mod.ts";
import { DAEMON_FLAGS, parseDaemonFlags, usageText } from "./flags.ts";

describe("parseDaemonFlags", () => {
  test("defaults", () => {
    const f = parseDaemonFlags([]);
    expect(f).toMatchObject({ log: undefined, logLevel: "info", logFormat: "text", runDir: "/run/sysbox", version: false, help: false });
  });

  test("every flag, in both value forms and with one or two dashes", () => {
    const f = parseDaemonFlags(["--log", "/tmp/x.log", "--log-level=debug", "-log-format", "json", "--run-dir=/tmp/rd", "-v", "--help"]);
    expect(f).toMatchObject({ log: "/tmp/x.log", logLevel: "debug", logFormat: "json", runDir: "/tmp/rd", version: true, help: true });
  });

  test("a value may contain '='", () => {
    expect(parseDaemonFlags(["--log=/tmp/a=b.log"]).log).toBe("/tmp/a=b.log");
  });

  const usage = (argv: string[]) => {
    try {
      parseDaemonFlags(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error("expected a UsageError");
  };

  test("errors are clear", () => {
    expect(usage(["--bogus"])).toBe("unknown flag --bogus");
    expect(usage(["--bogus=1"])).toBe("unknown flag --bogus");
    expect(usage(["-x"])).toBe("unknown flag -x");
    expect(usage(["--log"])).toBe("flag --log needs a value");
    expect(usage(["--help=yes"])).toBe("flag --help takes no value");
    expect(usage(["--log-level", "trace"])).toBe('invalid value "trace" for --log-level: expected one of debug|info|warn|error');
    expect(usage(["--log-format=xml"])).toBe('invalid value "xml" for --log-format: expected one of text|json');
    expect(usage(["start"])).toBe('unexpected argument "start"');
  });

  test("a daemon's extra flags", () => {
    const extra: Flag[] = [{ name: "data-root", kind: "string", arg: "DIR", default: "/var/lib/sysbox", help: "data root" }];
    expect(parseDaemonFlags([], { extra }).str("data-root")).toBe("/var/lib/sysbox");
    expect(parseDaemonFlags(["--data-root", "/d"], { extra }).str("data-root")).toBe("/d");
    expect(usageText("sysbox-mgr", "d", { extra })).toContain("--data-root DIR");
  });
});

describe("usageText", () => {
  test("lists every flag with its choices and default", () => {
    const text = usageText("sysbox-mgr", "The Sysbox manager daemon.");
    expect(text).toStartWith("Usage: sysbox-mgr [flags]\n\nThe Sysbox manager daemon.\n\nFlags:\n");
    for (const f of DAEMON_FLAGS) expect(text).toContain(`--${f.name}`);
    expect(text).toContain("--log-level LEVEL");
    expect(text).toContain("one of debug|info|warn|error, default info");
    expect(text).toContain("-h, --help");
  });
});
