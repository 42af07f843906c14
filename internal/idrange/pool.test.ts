import { expect, test } from "bun:test";
import { IdPool, IdRangeExhaustedError } from "./pool.ts";

const B = 65536;

test("first-fit, exclusive blocks counted from each range's start", () => {
  const pool = new IdPool([{ start: 165536, size: 3 * B + 100 }, { start: 10_000_000, size: B }]);
  expect(pool.total).toBe(4);
  expect(pool.allocate("a")).toEqual({ start: 165536, size: B });
  expect(pool.allocate("b")).toEqual({ start: 165536 + B, size: B });
  expect(pool.allocate("a")).toEqual({ start: 165536, size: B });
  expect(pool.used).toBe(2);
  expect(pool.release("a")).toBe(true);
  expect(pool.release("a")).toBe(false);
  expect(pool.allocate("c")).toEqual({ start: 165536, size: B });
  expect(pool.allocate("d")).toEqual({ start: 165536 + 2 * B, size: B });
  expect(pool.allocate("e")).toEqual({ start: 10_000_000, size: B });
  expect(pool.used).toBe(4);
});

test("exhaustion is a clear error", () => {
  const pool = new IdPool([{ start: 131072, size: 2 * B }]);
  pool.allocate("a");
  pool.allocate("b");
  let err: unknown;
  try {
    pool.allocate("c");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IdRangeExhaustedError);
  expect((err as IdRangeExhaustedError).code).toBe("id-range-exhausted");
  expect((err as Error).message).toBe(
    "no free ID range: all 2 ranges of 65536 ids in sysbox's subuid range 131072-262143 are in use",
  );
});

test("reserve takes every block a saved span overlaps, even unaligned or outside the pool", () => {
  const pool = new IdPool([{ start: 0x20000, size: 4 * B }]);
  pool.reserve("old", { start: 0x20000 + B + 5, size: B });
  expect(pool.used).toBe(2);
  expect(pool.get("old")).toEqual({ start: 0x20000 + B + 5, size: B });
  pool.reserve("gone", { start: 1 << 30, size: B });
  expect(pool.used).toBe(2);
  expect(pool.allocate("n1")).toEqual({ start: 0x20000, size: B });
  expect(pool.allocate("n2")).toEqual({ start: 0x20000 + 3 * B, size: B });
  expect(pool.conflicts()).toEqual([]);
  pool.reserve("dup", { start: 0x20000, size: B });
  expect(pool.conflicts()).toEqual([["dup", "n1"]]);
  pool.release("old");
  expect(pool.used).toBe(2);
  expect(pool.allocate("n3")).toEqual({ start: 0x20000 + B, size: B });
});

test("no ranges: nothing to hand out", () => {
  const pool = new IdPool([]);
  expect(pool.total).toBe(0);
  expect(() => pool.allocate("a")).toThrow(IdRangeExhaustedError);
});
