import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { INIT } from "../fuse/proto.ts";
import { StateFileError } from "../keeper/mod.ts";
import { loadState, negotiatedFromRecord, negotiatedToRecord, saveState, type ContainerRecord } from "./state.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fs-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rec: ContainerRecord = {
  id: "abc",
  initPid: 42,
  initStartTime: "12345",
  startBoot: 123.45,
  uidFirst: 165536,
  uidSize: 65536,
  gidFirst: 165536,
  gidSize: 65536,
  mountpoint: "/var/lib/sysboxfs/abc",
  sysctls: { "kernel/panic": "7", "kernel/printk": "4\t4\t1\t7" },
  keeper: { pid: 43, startTime: "12346" },
  fuse: negotiatedToRecord({ major: 7, minor: 31, flags: INIT.ASYNC_READ, kernelFlags: INIT.ASYNC_READ | INIT.HAS_RESEND, maxWrite: 16384, maxReadahead: 131072 }),
};

test("a missing file is an empty state; save and load round-trip", () => {
  const path = join(dir, "fs-state.json");
  expect(loadState(path)).toEqual({ version: 1, containers: [] });
  saveState(path, { version: 1, containers: [rec] });
  expect(loadState(path)).toEqual({ version: 1, containers: [rec] });
  expect(readFileSync(path, "utf8").endsWith("}\n")).toBe(true);
});

test("negotiated INIT flags survive as hex, bits above 31 included", () => {
  expect(rec.fuse!.kernelFlags).toBe("0x8000000001");
  expect(negotiatedFromRecord(rec.fuse!)).toEqual({ major: 7, minor: 31, flags: INIT.ASYNC_READ, kernelFlags: INIT.ASYNC_READ | INIT.HAS_RESEND, maxWrite: 16384, maxReadahead: 131072 });
});

test("a broken or invalid file is a StateFileError naming the problem", () => {
  const path = join(dir, "fs-state.json");
  writeFileSync(path, "{");
  expect(() => loadState(path)).toThrow(StateFileError);
  writeFileSync(path, JSON.stringify({ version: 1, containers: [{ ...rec, initStartTime: "soon" }] }));
  expect(() => loadState(path)).toThrow(/invalid: containers\.0\.initStartTime/);
  writeFileSync(path, JSON.stringify({ version: 2, containers: [] }));
  expect(() => loadState(path)).toThrow(/version/);
});
