import { describe, expect, test } from "bun:test";
import { newFileCache, SERVE_AGAIN_MS } from "./container.ts";
import { boottimeClock } from "./host.ts";

describe("newFileCache", () => {
  test("serves a file again within its time, then makes it afresh", () => {
    let t = 0;
    let made = 0;
    const cache = newFileCache(() => t);
    const make = () => new Uint8Array([++made]);
    expect(cache.get("meminfo", make)[0]).toBe(1);
    t = SERVE_AGAIN_MS.meminfo - 1;
    expect(cache.get("meminfo", make)[0]).toBe(1);
    // Each file keeps its own time.
    expect(cache.get("stat", make)[0]).toBe(2);
    t = SERVE_AGAIN_MS.meminfo;
    expect(cache.get("meminfo", make)[0]).toBe(3);
  });
});

describe("boottimeClock", () => {
  test("reads /proc/uptime once per interval and advances by the monotonic clock in between", () => {
    let t = 0;
    const texts = ["100.00 300.00\n", "101.00 302.00\n", "102.00 304.00\n"];
    let reads = 0;
    const clock = boottimeClock(() => texts[reads++]!, () => t, 1000);
    expect(clock()).toEqual({ up: 100, idle: 300 });
    t = 500;
    expect(clock()).toEqual({ up: 100.5, idle: 300 });
    t = 1000;
    expect(clock()).toEqual({ up: 101, idle: 302 });
    expect(reads).toBe(2);
    // idle now advances at the rate seen between the two reads: 2 s per s.
    t = 1250;
    expect(clock()).toEqual({ up: 101.25, idle: 302.5 });
    // A clock that went back (it cannot, but a fake can) reads again.
    t = 10;
    expect(clock().up).toBe(102);
  });
});
