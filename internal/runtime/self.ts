/** How to re-execute this program for the init stage, compiled or run from source. */

export interface SelfExec {
  /** File to open and execveat. */
  path: string;
  /** argv before the subcommand. */
  argv: string[];
}

export function selfExec(): SelfExec {
  // A `bun build --compile` binary embeds its sources under /$bunfs/.
  if (Bun.main.startsWith("/$bunfs/")) return { path: process.execPath, argv: ["sysbox-runc"] };
  return { path: process.execPath, argv: ["bun", Bun.main] };
}
