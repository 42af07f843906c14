/**
 * sysbox-runc: the OCI runtime binary Docker and containerd call once per
 * container operation. Wiring only: parse (internal/runtime/cli.ts), set up
 * logging, warn about flags accepted but ignored, run the command's handler,
 * log its failure once and exit with its code.
 */
import { ignoredGiven, writeFd } from "../../internal/cli/mod.ts";
import { COMMANDS, commandHelp, failure, GLOBAL_FLAGS, helpText, parseCli, runInitStage, type ParsedCli } from "../../internal/runtime/mod.ts";
import { versionText } from "../../internal/version/mod.ts";

const out = (text: string) => writeFd(1, text);
const err = (text: string) => writeFd(2, text);

async function main(argv: string[]): Promise<number> {
  // The container's first stage: no parsing or logging set-up, its stdio is the container's.
  if (argv[0] === "init") await runInitStage();
  let cli: ParsedCli;
  try {
    cli = parseCli(argv);
  } catch (e) {
    // runc's layout for a bad global flag: "Incorrect Usage." and the help on stdout, the error on stderr, exit 1.
    out(`Incorrect Usage. ${(e as Error).message}\n\n${helpText(versionText("sysbox-runc"))}`);
    err(`sysbox-runc: ${(e as Error).message}\n`);
    return 1;
  }
  const g = cli.global;
  if (g.bool("version")) { out(versionText("sysbox-runc")); return 0; }
  if (!g.bool("help") && cli.help && cli.command) { out(commandHelp(cli.command)); return 0; }
  if (g.bool("help") || cli.help || (!cli.command && !cli.error)) { out(helpText(versionText("sysbox-runc"))); return 0; }

  // Loaded here, not above: consola costs start-up time that --version and usage errors need not pay.
  const { setupLogging } = await import("../../internal/log/mod.ts");
  const logFile = g.str("log");
  const log = setupLogging({
    ...(logFile ? { file: logFile } : {}),
    format: g.str("log-format") === "json" ? "json" : "text",
    level: g.bool("debug") ? "debug" : "info",
  });
  if (cli.error || !cli.command) {
    if (cli.error?.help) out(`Incorrect Usage.\n\n${cli.error.help}`);
    log.error(cli.error?.message ?? "no command");
    return cli.error?.exitCode ?? 1;
  }
  const command = COMMANDS[cli.command]!;
  for (const { flag, ignored } of [...ignoredGiven(GLOBAL_FLAGS, g), ...ignoredGiven(command.flags, cli.flags)]) {
    log.warn(`${flag} is accepted but ignored: ${ignored}`);
  }
  try {
    return await command.run({ root: g.str("root")!, global: g, flags: cli.flags, args: cli.args, id: cli.args[0] ?? "", command: cli.command, log, out });
  } catch (e) {
    const { message, exitCode } = await failure(cli.command, e);
    log.error(message);
    if (logFile) err(`sysbox-runc: ${message}\n`);
    return exitCode;
  }
}

process.exitCode = await main(process.argv.slice(2));
