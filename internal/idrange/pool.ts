/**
 * Exclusive per-container ID blocks carved from sysbox's ranges. Each range
 * is cut into blocks of `blockSize` ids counted from the range's start; a
 * container gets the lowest free block (first-fit). Pure, in memory; the
 * manager persists who holds what and reserves it again after a restart.
 */
import { BLOCK_SIZE } from "./plan.ts";
import { overlaps, spanText, type IdSpan } from "./subid.ts";

/** Every block is in use; the message says how many there are and where. */
export class IdRangeExhaustedError extends Error {
  override name = "IdRangeExhaustedError";
  readonly code = "id-range-exhausted";
}

export interface PoolOptions {
  blockSize?: number;
  /** Names the ranges in messages; default "sysbox". */
  user?: string;
}

export class IdPool {
  readonly ranges: readonly IdSpan[];
  readonly blockSize: number;
  readonly #user: string;
  /** Start of each block, in id order. */
  readonly #blocks: number[];
  /** Holders of each block (usually one; more only if a restored state overlapped). */
  readonly #holders: Set<string>[];
  /** What each holder was given or reserved. */
  readonly #held = new Map<string, IdSpan>();

  constructor(ranges: readonly IdSpan[], opts: PoolOptions = {}) {
    this.blockSize = opts.blockSize ?? BLOCK_SIZE;
    this.#user = opts.user ?? "sysbox";
    this.ranges = ranges.map(({ start, size }) => ({ start, size })).toSorted((a, b) => a.start - b.start);
    this.#blocks = this.ranges.flatMap((r) =>
      Array.from({ length: Math.floor(r.size / this.blockSize) }, (_, i) => r.start + i * this.blockSize),
    );
    this.#holders = this.#blocks.map(() => new Set());
  }

  /** Number of blocks. */
  get total(): number {
    return this.#blocks.length;
  }

  /** Blocks held by at least one holder. */
  get used(): number {
    return this.#holders.filter((h) => h.size > 0).length;
  }

  get(holder: string): IdSpan | undefined {
    return this.#held.get(holder);
  }

  /** Gives `holder` the lowest free block; a holder that already has one gets the same. */
  allocate(holder: string): IdSpan {
    const had = this.#held.get(holder);
    if (had) return { ...had };
    const i = this.#holders.findIndex((h) => h.size === 0);
    if (i === -1) {
      throw new IdRangeExhaustedError(
        `no free ID range: all ${this.total} ranges of ${this.blockSize} ids in ${this.#user}'s subuid range ${this.ranges.map(spanText).join(", ")} are in use`,
      );
    }
    const span = { start: this.#blocks[i]!, size: this.blockSize };
    this.#holders[i]!.add(holder);
    this.#held.set(holder, span);
    return { ...span };
  }

  /**
   * Records that `holder` has `span` (from saved state). Every block it
   * overlaps is taken, even when the span is not block-aligned or lies
   * (partly) outside the pool because the ranges changed since.
   */
  reserve(holder: string, span: IdSpan): void {
    this.release(holder);
    this.#held.set(holder, { start: span.start, size: span.size });
    this.#blocks.forEach((b, i) => {
      if (overlaps(span, { start: b, size: this.blockSize })) this.#holders[i]!.add(holder);
    });
  }

  /** Frees what `holder` has; false if it had nothing. */
  release(holder: string): boolean {
    if (!this.#held.delete(holder)) return false;
    for (const h of this.#holders) h.delete(holder);
    return true;
  }

  /** Holders that share a block with another holder (a damaged saved state). */
  conflicts(): string[][] {
    return this.#holders.filter((h) => h.size > 1).map((h) => [...h].sort());
  }
}
