import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ignoredGiven, UsageError } from "../cli/mod.ts";
import { CliUsageError, commandHelp, COMMANDS, failure, GLOBAL_FLAGS, helpText, parseCli, updateRequest, type CommandContext } from "./cli.ts";

/** The command-level error parseCli reports: [message, exit code, whether the command's help is printed]. */
const usage = (argv: string[]) => {
  const e = parseCli(argv).error;
  if (!e) throw new Error("expected a usage error");
  expect(e).toBeInstanceOf(CliUsageError);
  return [e.message, e.exitCode, e.help !== undefined] as const;
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

  test("flags may follow the id, as runc reorders them; ps passes everything after the id to ps", () => {
    const update = parseCli(["update", "c1", "--cpuset-cpus", "1"]);
    expect([update.error, update.args, updateRequest(update.flags)]).toEqual([undefined, ["c1"], { cpusetCpus: "1" }]);
    expect(parseCli(["delete", "c1", "--force"]).flags.bool("force")).toBe(true);
    const ps = parseCli(["ps", "--format", "table", "c1", "-e", "-x", "--format", "json"]);
    expect([ps.error, ps.args, ps.flags.str("format")]).toEqual([undefined, ["c1", "-e", "-x", "--format", "json"], "table"]);
  });

  test("exec --cgroup, repeatable", () => {
    const cli = parseCli(["exec", "--cgroup", "pids:/x", "--cgroup=y", "c1", "true"]);
    expect([cli.error, cli.flags.list("cgroup"), cli.args]).toEqual([undefined, ["pids:/x", "y"], ["c1", "true"]]);
  });

  test("kill takes an optional signal after the id", () => {
    expect(parseCli(["kill", "--all", "c1", "KILL"]).args).toEqual(["c1", "KILL"]);
  });

  test("no command: nothing to run", () => {
    expect(parseCli(["--debug"]).command).toBeUndefined();
  });

  test("errors, with runc's exit codes: 3 for an unknown command, 1 and the command's help for the rest", () => {
    expect(usage(["frobnicate"])).toEqual(["No help topic for 'frobnicate'", 3, false]);
    expect(usage(["frobnicate", "-h"])).toEqual(["No help topic for 'frobnicate'", 3, false]);
    expect(usage(["toString"])).toEqual(["No help topic for 'toString'", 3, false]);
    expect(usage(["help", "nope"])).toEqual(["No help topic for 'nope'", 3, false]);
    expect(usage(["start"])).toEqual(['"start" requires exactly 1 argument(s)', 1, true]);
    expect(usage(["start", "a", "b"])).toEqual(['"start" requires exactly 1 argument(s)', 1, true]);
    expect(usage(["kill"])).toEqual(['"kill" requires a minimum of 1 argument(s)', 1, true]);
    expect(usage(["kill", "c1", "KILL", "x"])).toEqual(['"kill" requires a maximum of 2 argument(s)', 1, true]);
    expect(usage(["delete", "--bogus", "c1"])).toEqual(["unknown flag --bogus", 1, true]);
    expect(usage(["create", "--preserve-fds", "x", "c1"])).toEqual(['invalid value "x" for --preserve-fds: not an integer', 1, true]);
    expect(() => parseCli(["--bogus", "list"])).toThrow(UsageError);
  });

  test("-h, --help and help COMMAND ask for help; no command is the global help", () => {
    for (const argv of [["kill", "-h"], ["kill", "--help"], ["kill", "c1", "--help"], ["help", "kill"], ["h", "kill"], ["checkpoint", "--help"]]) {
      const cli = parseCli(argv);
      expect([cli.command, cli.help, cli.error]).toEqual([argv[0] === "help" || argv[0] === "h" ? argv[1] : argv[0], true, undefined]);
    }
    expect([parseCli(["help"]).command, parseCli(["help"]).help]).toEqual([undefined, true]);
    expect(parseCli(["exec", "c1", "ls", "-h"]).args).toEqual(["c1", "ls", "-h"]);
  });

  test("checkpoint and restore parse nothing and fail clearly", async () => {
    const cli = parseCli(["checkpoint", "--image-path", "/x", "c1"]);
    expect([cli.command, cli.error, cli.args]).toEqual(["checkpoint", undefined, ["--image-path", "/x", "c1"]]);
    const run = COMMANDS.restore!.run({ command: "restore" } as CommandContext);
    await expect(run).rejects.toThrow("restore is not supported by sysbox-runc");
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

test("help in runc's layout: NAME, USAGE, COMMANDS (runc's order), GLOBAL OPTIONS", () => {
  const text = helpText("sysbox-runc version 0.1.0\ncommit: x\nspec: 1.1.0\n");
  expect(text).toStartWith("NAME:\n   sysbox-runc - an OCI runtime for system containers\n\nUSAGE:\n   sysbox-runc [global options] command [command options] [arguments...]\n\nVERSION:\n   0.1.0\ncommit: x\nspec: 1.1.0\n\nCOMMANDS:\n   checkpoint  checkpoint a running container\n   create      create a container\n");
  expect(text).toContain("\n   help, h     Shows a list of commands or help for one command\n\nGLOBAL OPTIONS:\n");
  expect(text).toContain('\n   --root value        state directory (default: "/run/sysbox-runc")\n');
  expect(text).toContain("\n   --no-sysbox-fs ");
  expect(text).not.toContain("--criu");
  for (const name of Object.keys(COMMANDS)) if (name !== "init") expect(text).toContain(`\n   ${name.padEnd(12)}`);
  expect(text).not.toContain("\n   init ");
});

test("a command's help: NAME, USAGE and its OPTIONS", () => {
  expect(commandHelp("kill")).toBe([
    "NAME:",
    "   sysbox-runc kill - kill sends the specified signal (default: SIGTERM) to the container's init process",
    "",
    "USAGE:",
    "   sysbox-runc kill [command options] <container-id> [signal]",
    "",
    "OPTIONS:",
    "   --all, -a  signal every process of the container",
    "",
  ].join("\n"));
  expect(commandHelp("start")).toBe("NAME:\n   sysbox-runc start - executes the user defined process in a created container\n\nUSAGE:\n   sysbox-runc start <container-id>\n");
  expect(commandHelp("list")).toContain('\n   --format value, -f value  table or json (default: "table")\n');
});

describe("failure: what the binary logs and exits with", () => {
  const nodeError = () => {
    try {
      readFileSync("/no-such-dir/config.json");
    } catch (e) {
      return e;
    }
    throw new Error("expected ENOENT");
  };

  test("a Node fs error is worded as a SysError: operation, path, errno name", async () => {
    expect(await failure("create", nodeError())).toEqual({ message: "open `/no-such-dir/config.json`: ENOENT", exitCode: 1 });
  });

  test("exec fails as runc's does: 'exec failed: ' and exit code 255", async () => {
    expect(await failure("exec", new Error("cannot exec in a paused container"))).toEqual({ message: "exec failed: cannot exec in a paused container", exitCode: 255 });
    expect(await failure("exec", nodeError())).toEqual({ message: "exec failed: open `/no-such-dir/config.json`: ENOENT", exitCode: 255 });
  });

  test("other errors keep their message; a usage error found by a handler exits 2", async () => {
    expect(await failure("kill", new Error("container not running"))).toEqual({ message: "container not running", exitCode: 1 });
    expect(await failure("kill", new UsageError("bad"))).toEqual({ message: "bad", exitCode: 2 });
  });
});
