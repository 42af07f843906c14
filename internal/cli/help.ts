/** Help text generated from a flag table: one line per flag with its choices and default. */
import type { Flag } from "./flags.ts";

/** "  -h, --help        print this help and exit", aligned; ignored flags are left out. */
export function flagLines(table: readonly Flag[]): string[] {
  const shown = table.filter((f) => f.ignored === undefined);
  const left = shown.map((f) => {
    const long = `--${f.name}${f.arg ? ` ${f.arg}` : ""}`;
    return f.short ? `-${f.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(0, ...left.map((l) => l.length));
  return shown.map((f, i) => {
    const notes = [f.choices ? `one of ${f.choices.join("|")}` : "", f.default !== undefined ? `default ${f.default}` : ""].filter(Boolean);
    return `  ${left[i]!.padEnd(width)}  ${f.help}${notes.length ? ` (${notes.join(", ")})` : ""}`;
  });
}

/** A program that takes flags only: usage line, description, and every flag. */
export function usageText(name: string, description: string, table: readonly Flag[]): string {
  return `Usage: ${name} [flags]\n\n${description}\n\nFlags:\n${flagLines(table).join("\n")}\n`;
}
