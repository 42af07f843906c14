/**
 * sysbox-runc: the OCI runtime binary Docker and containerd call once per
 * container operation. Thin: parse, set up logging, run one command from
 * internal/runtime (loaded lazily, so `--version` and `state` stay cheap).
 */
import { parseCli, helpText, UsageError, type ParsedCli } from "../../internal/runtime/cli.ts";
import { versionText } from "../../internal/version/mod.ts";
import { DEFAULT_ROOT } from "../../internal/runtime/state.ts";
import { writeSync } from "node:fs";

/**
 * Writes all of `text` to fd 1 or 2. Not process.stdout/stderr: setting those
 * streams up costs ~25 ms in a compiled binary, more than `--version` itself.
 */
function writeFd(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      // A non-blocking pipe that is full: wait a little and retry.
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
const out = (text: string) => writeFd(1, text);
const err = (text: string) => writeFd(2, text);

type Flags = ParsedCli["flags"];
const str = (f: Flags, k: string): string | undefined => (typeof f[k] === "string" ? (f[k] as string) : undefined);
const list = (f: Flags, k: string): string[] => (f[k] === undefined ? [] : Array.isArray(f[k]) ? (f[k] as string[]) : [String(f[k])]);

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "init") {
    const { runInit } = await import("../../internal/runtime/init.ts");
    runInit();
  }
  let cli: ParsedCli;
  try {
    cli = parseCli(argv);
  } catch (e) {
    err(`sysbox-runc: ${(e as Error).message}\n`);
    return 2;
  }
  const g = cli.global;
  if (g.version) { out(versionText("sysbox-runc")); return 0; }
  if (g.help || !cli.command) { out(helpText()); return cli.command || g.help ? 0 : 2; }

  const { setupLogging } = await import("../../internal/log/mod.ts");
  const log = setupLogging({
    ...(typeof g.log === "string" && g.log ? { file: g.log } : {}),
    format: g["log-format"] === "json" ? "json" : "text",
    level: g.debug ? "debug" : "info",
  });
  const root = typeof g.root === "string" ? g.root : DEFAULT_ROOT;
  const f = cli.flags;
  const [id = ""] = cli.args;
  try {
    const rt = await import("../../internal/runtime/mod.ts");
    switch (cli.command) {
      case "create":
        await rt.createContainer({ root, id, noSysboxMgr: g["no-sysbox-mgr"] === true, noSysboxFs: g["no-sysbox-fs"] === true, bundle: str(f, "bundle") ?? ".", pidFile: str(f, "pid-file"), consoleSocket: str(f, "console-socket"), noPivot: f["no-pivot"] === true, preserveFds: Number(f["preserve-fds"] ?? 0), systemdCgroup: g["systemd-cgroup"] === true, log });
        return 0;
      case "run":
        return await rt.runContainer({ root, id, noSysboxMgr: g["no-sysbox-mgr"] === true, noSysboxFs: g["no-sysbox-fs"] === true, bundle: str(f, "bundle") ?? ".", pidFile: str(f, "pid-file"), consoleSocket: str(f, "console-socket"), noPivot: f["no-pivot"] === true, preserveFds: Number(f["preserve-fds"] ?? 0), systemdCgroup: g["systemd-cgroup"] === true, log, detach: f.detach === true, keep: f.keep === true });
      case "start":
        await rt.startContainer(root, id, log);
        return 0;
      case "exec":
        return await rt.execInContainer({ root, id, processFile: str(f, "process"), args: cli.args.slice(1), detach: f.detach === true, pidFile: str(f, "pid-file"), consoleSocket: str(f, "console-socket"), tty: f.tty === true, cwd: str(f, "cwd"), env: list(f, "env"), user: str(f, "user"), preserveFds: Number(f["preserve-fds"] ?? 0), log });
      case "kill":
        await rt.killContainer(root, id, rt.parseSignal(cli.args[1] ?? "SIGTERM"), f.all === true);
        return 0;
      case "delete":
        await rt.deleteContainer(root, id, f.force === true, log);
        return 0;
      case "state":
        out(JSON.stringify(rt.containerState(root, id), null, 2) + "\n");
        return 0;
      case "list":
        out(rt.formatList(rt.listContainers(root), str(f, "format") ?? "table", f.quiet === true));
        return 0;
      case "ps":
        out(await rt.formatPs(rt.containerPids(root, id), str(f, "format") ?? "table", cli.args.slice(1)));
        return 0;
      case "pause":
        await rt.pauseContainer(root, id, log);
        return 0;
      case "resume":
        await rt.resumeContainer(root, id);
        return 0;
      case "update":
        await rt.updateContainer(root, id, f, log);
        return 0;
      case "events":
        return await rt.containerEvents(root, id, f.stats === true, str(f, "interval") ?? "5s");
      case "spec":
        rt.writeDefaultSpec(str(f, "bundle") ?? ".");
        return 0;
      case "features":
        out(JSON.stringify(rt.features(), null, 2) + "\n");
        return 0;
    }
    return 2;
  } catch (e) {
    log.error(e instanceof Error ? e.message : String(e));
    if (typeof g.log === "string" && g.log) err(`sysbox-runc: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
