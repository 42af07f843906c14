/**
 * The command line of the three binaries: a flag table per program or
 * command (flags.ts), typed accessors for the parsed values, help generated
 * from the same table (help.ts), and one UsageError (exit 2).
 */
export { ignoredGiven, parseFlags, UsageError, type Flag, type FlagKind, type Flags, type Parsed, type Positionals } from "./flags.ts";
export { flagLines, usageText } from "./help.ts";
export { writeFd } from "./write.ts";
