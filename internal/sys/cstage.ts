/**
 * The ffi half of the small C stages (internal/ns): compiles a stage's source
 * with bun:ffi's TinyCC and calls its entry point with an argument block.
 * TinyCC cannot read the embedded copy of a source inside a compiled binary,
 * so the text goes through a temp file that is removed right after.
 */
import { cc, ptr, type Pointer } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc, syscallPtr } from "./libc.ts";

/**
 * A compiled stage entry point `long entry(long *args, int *errno_loc)`:
 * called with the argument block, returns what the C function returned.
 */
export type StageEntry = (args: BigInt64Array) => bigint;

/** `compileStage` on first call, then the same entry: a stage is compiled once per process. */
export function lazyStage(name: string, source: string, symbol: string): () => StageEntry {
  let entry: StageEntry | undefined;
  return () => (entry ??= compileStage(name, source, symbol));
}

/** Compiles `source` (a stage written against raw syscalls, no libc) and returns its `symbol`. */
export function compileStage(name: string, source: string, symbol: string): StageEntry {
  const dir = mkdtempSync(join(tmpdir(), `sysbox-${name}-`));
  const file = join(dir, `${name}.c`);
  let fn: (a: Pointer, e: Pointer) => unknown;
  try {
    writeFileSync(file, source);
    const symbols = cc({ source: file, flags: ["-nostdlib"], symbols: { [symbol]: { args: ["ptr", "ptr"], returns: "i64" } } }).symbols;
    fn = symbols[symbol] as unknown as (a: Pointer, e: Pointer) => unknown;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return (args) => fn(ptr(args), libc.symbols.__errno_location() as Pointer) as bigint;
}

/** Address of a buffer, for argument blocks and char*[] arrays a stage reads. */
export function addressOf(buf: Uint8Array | BigInt64Array | Int32Array): bigint {
  return BigInt(ptr(buf));
}

/** Address of libc's `syscall()`, which the stages call for every syscall. */
export function syscallAddress(): bigint {
  return BigInt(syscallPtr);
}
