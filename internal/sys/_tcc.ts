/**
 * Compiles one of this package's small C stages with bun:ffi's TinyCC.
 * TinyCC cannot read the embedded copy of a source inside a compiled binary,
 * so the text goes through a temp file that is removed right after.
 */
import { cc } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function compileStage<S extends Record<string, { args: ("ptr" | "i32" | "i64")[]; returns: "i64" | "i32" }>>(
  name: string,
  source: string,
  symbols: S,
): ReturnType<typeof cc<S>>["symbols"] {
  const dir = mkdtempSync(join(tmpdir(), `sysbox-${name}-`));
  const file = join(dir, `${name}.c`);
  try {
    writeFileSync(file, source);
    return cc({ source: file, flags: ["-nostdlib"], symbols }).symbols;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
