/**
 * internal/runtime: the sysbox-runc commands. The surface is the command
 * table and its parser (cli.ts); each command loads the rest of the package
 * lazily, because sysbox-runc runs once per container operation and
 * `--version`, `state` or `kill` must not pay for loading `create`.
 */
export { CliUsageError, COMMANDS, commandHelp, failure, GLOBAL_FLAGS, helpText, parseCli, runInitStage, type ParsedCli } from "./cli.ts";
