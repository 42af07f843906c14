import { describe, expect, test } from "bun:test";
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2, v2Bytes } from "./convert.ts";

describe("cpuSharesToWeight (runc's formula)", () => {
  // Boundaries from runc's own test, plus the values Docker users actually pass.
  test.each([
    [0, 0], // unset
    [1, 1], // below the minimum
    [2, 1], // minimum
    [3, 2],
    [10, 4],
    [100, 17],
    [128, 21],
    [256, 35],
    [512, 59],
    [1000, 99],
    [1024, 100], // default
    [1536, 138],
    [2048, 174],
    [4096, 303],
    [8192, 532],
    [10000, 627],
    [65536, 3023],
    [262143, 10000], // just below the maximum
    [262144, 10000], // maximum
    [262145, 10000], // above the maximum
  ])("shares %d → weight %d", (shares, weight) => {
    expect(cpuSharesToWeight(shares)).toBe(weight);
  });
});

describe("blkioWeightToIoWeight", () => {
  test.each([
    [0, 0],
    [10, 1],
    [500, 4950],
    [1000, 10000],
  ])("%d → %d", (w, want) => {
    expect(blkioWeightToIoWeight(w)).toBe(want);
  });
});

describe("memorySwapToV2", () => {
  test.each([
    ["all unset", 0, 0, 0],
    ["unlimited memory+swap, unset memory", -1, 0, -1],
    ["unlimited memory", 300, -1, 300],
    ["all unlimited", -1, -1, -1],
    ["unlimited memory, unset swap", 0, -1, -1],
    ["memory and swap", 300, 200, 100],
    ["swap == memory means no swap", 200, 200, 0],
  ])("%s", (_d, swap, memory, want) => {
    expect(memorySwapToV2(swap, memory)).toBe(want);
  });

  test("errors", () => {
    expect(() => memorySwapToV2(300, 0)).toThrow(/without memory limit/);
    expect(() => memorySwapToV2(100, 200)).toThrow(/>= memory limit/);
    expect(() => memorySwapToV2(100, -5)).toThrow(/Invalid memory value/);
  });
});

test("v2Bytes", () => {
  expect(v2Bytes(undefined)).toBeUndefined();
  expect(v2Bytes(0)).toBeUndefined();
  expect(v2Bytes(-1)).toBe("max");
  expect(v2Bytes(67108864)).toBe("67108864");
});
