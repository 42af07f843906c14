import { describe, expect, test } from "bun:test";
import { ignoredGiven, UsageError } from "../cli/mod.ts";
import { COMMANDS, GLOBAL_FLAGS, helpText, parseCli, updateRequest } from "./cli.ts";

const usage = (argv: string[]) => {
  try {
    parseCli(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("parseCli", () => {
  test("global flags, then the command, its flags and the id, as containerd passes them", () => {
    const cli = parseCli(["--root", "/run/r", "--log", "/l.json", "--log-format", "json", "--systemd-cgroup",
      "create", "--bundle", "/b", "--pid-file", "/p", "--console-socket=/s", "--preserve-fds", "2", "c1"]);
    expect(cli.command).toBe("create");
    expect([cli.global.str("root"), cli.global.str("log"), cli.global.str("log-format"), cli.global.bool("systemd-cgroup")]).toEqual(["/run/r", "/l.json", "json", true]);
    expect([cli.flags.str("bundle"), cli.flags.str("pid-file"), cli.flags.str("console-socket"), cli.flags.int("preserve-fds")]).toEqual(["/b", "/p", "/s", 2]);
    expect(cli.args).toEqual(["c1"]);
  });

  test("defaults: root, bundle, preserve-fds, list format, events interval", () => {
    const cli = parseCli(["create", "c1"]);
    expect([cli.global.str("root"), cli.flags.str("bundle"), cli.flags.int("preserve-fds")]).toEqual(["/run/sysbox-runc", ".", 0]);
    expect(parseCli(["list"]).flags.str("format")).toBe("table");
    expect(parseCli(["events", "c1"]).flags.str("interval")).toBe("5s");
  });

  test("exec: flags may follow the id; the command starts at the next argument", () => {
    const cli = parseCli(["exec", "-e", "A=1", "c1", "--tty", "--env=B=2", "sh", "-c", "echo --tty"]);
    expect(cli.args).toEqual(["c1", "sh", "-c", "echo --tty"]);
    expect(cli.flags.bool("tty")).toBe(true);
    expect(cli.flags.list("env")).toEqual(["A=1", "B=2"]);
  });

  test("kill takes an optional signal after the id", () => {
    expect(parseCli(["kill", "--all", "c1", "KILL"]).args).toEqual(["c1", "KILL"]);
  });

  test("no command: nothing to run", () => {
    expect(parseCli(["--debug"]).command).toBeUndefined();
  });

  test("errors", () => {
    expect(usage(["frobnicate"])).toBe('unknown command "frobnicate"; see --help');
    expect(usage(["toString"])).toBe('unknown command "toString"; see --help');
    expect(usage(["start"])).toStartWith('"start" requires exactly 1 argument; usage: start ID');
    expect(usage(["delete", "--bogus", "c1"])).toBe("unknown flag --bogus");
    expect(usage(["create", "--preserve-fds", "x", "c1"])).toBe('invalid value "x" for --preserve-fds: not an integer');
  });

  test("flags accepted for compatibility are named for a warning", () => {
    const exec = parseCli(["exec", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", "c1", "true"]);
    expect(ignoredGiven(COMMANDS.exec!.flags, exec.flags).map((i) => i.flag)).toEqual(["--no-new-privs", "--cap"]);
    const g = parseCli(["--criu", "/x", "state", "c1"]).global;
    expect(ignoredGiven(GLOBAL_FLAGS, g).map((i) => i.flag)).toEqual(["--criu"]);
  });

  test("update: the knobs given, typed", () => {
    const cli = parseCli(["update", "--memory", "1048576", "--cpuset-cpus=0-1", "-r", "-", "c1"]);
    expect(updateRequest(cli.flags)).toEqual({ resources: "-", memory: "1048576", cpusetCpus: "0-1" });
  });
});

test("help lists the global flags and every command but init", () => {
  const text = helpText();
  expect(text).toContain("--root DIR");
  expect(text).toContain("--no-sysbox-fs");
  expect(text).not.toContain("--criu");
  for (const name of Object.keys(COMMANDS)) if (name !== "init") expect(text).toContain(`\n  ${name.padEnd(9)} `);
  expect(text).not.toContain("\n  init ");
});
