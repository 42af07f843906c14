import { describe, expect, test } from "bun:test";
import { SYSINFO_LAYOUT, encodeSysinfo, sysinfoLayout } from "./sysinfo.ts";

const MB = 1024 * 1024;
const V = {
  uptime: 100, loads: [65536, 32768, 1] as const, totalram: 512 * MB, freeram: 312 * MB, sharedram: 4 * MB, bufferram: 0,
  totalswap: 256 * MB, freeswap: 255 * MB, procs: 3,
};

describe("struct sysinfo", () => {
  test("64-bit layout: offsets of glibc's struct on x86_64 and aarch64, mem_unit 1", () => {
    const b = encodeSysinfo(V, sysinfoLayout("x86_64"));
    const dv = new DataView(b.buffer);
    expect(b.length).toBe(112);
    const u64 = (o: number) => Number(dv.getBigUint64(o, true));
    expect([u64(0), u64(8), u64(16), u64(24)]).toEqual([100, 65536, 32768, 1]);
    expect([u64(32), u64(40), u64(48), u64(56), u64(64), u64(72)]).toEqual([512 * MB, 312 * MB, 4 * MB, 0, 256 * MB, 255 * MB]);
    expect(dv.getUint16(80, true)).toBe(3);
    expect([u64(88), u64(96)]).toEqual([0, 0]);
    expect(dv.getUint32(104, true)).toBe(1);
  });
  test("x32 uses the native layout; i386 and arm the 32-bit one", () => {
    expect(sysinfoLayout("x32")).toBe(SYSINFO_LAYOUT.wide);
    expect(sysinfoLayout("aarch64")).toBe(SYSINFO_LAYOUT.wide);
    expect(sysinfoLayout("i386")).toBe(SYSINFO_LAYOUT.narrow);
    expect(sysinfoLayout("arm")).toBe(SYSINFO_LAYOUT.narrow);
  });
  test("32-bit layout: offsets, and a larger mem_unit once bytes overflow 32 bits", () => {
    const small = new DataView(encodeSysinfo(V, SYSINFO_LAYOUT.narrow).buffer);
    expect(small.byteLength).toBe(64);
    expect(small.getUint32(0, true)).toBe(100);
    expect(small.getUint32(16, true)).toBe(512 * MB);
    expect(small.getUint32(36, true)).toBe(255 * MB);
    expect(small.getUint16(40, true)).toBe(3);
    expect(small.getUint32(52, true)).toBe(1);
    const big = new DataView(encodeSysinfo({ ...V, totalram: 16 * 1024 * MB, freeram: 8 * 1024 * MB }, SYSINFO_LAYOUT.narrow).buffer);
    // 16 GiB / 4 is still 2^32: one more doubling.
    expect(big.getUint32(52, true)).toBe(8);
    expect(big.getUint32(16, true)).toBe(2 * 1024 * MB);
    expect(big.getUint32(20, true)).toBe(1024 * MB);
    expect(big.getUint32(24, true)).toBe(MB / 2);
  });
  test("big-endian for s390x", () => {
    const dv = new DataView(encodeSysinfo(V, SYSINFO_LAYOUT.wide, { bigEndian: true }).buffer);
    expect(dv.getBigUint64(32, false)).toBe(BigInt(512 * MB));
    expect(dv.getUint32(104, false)).toBe(1);
  });
});
