import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  RLIMIT, WCOREDUMP, WEXITSTATUS, WIFEXITED, WIFSIGNALED, WIFSTOPPED, WSTOPSIG, WTERMSIG, decodeWaitStatus,
  envList, exitCodeOf, parseRlimit, parseSignal, signalName,
} from "./proc.ts";
import { parseStatStart, processStartTime } from "./procstat.ts";

// Raw statuses as the kernel encodes them (bits/waitstatus.h).
const exited = (code: number) => code << 8;
const signaled = (sig: number, core = false) => sig | (core ? 0x80 : 0);
const stopped = (sig: number) => (sig << 8) | 0x7f;

describe("wait status decoding", () => {
  test.each([0, 1, 127, 255])("exit %d", (code) => {
    const s = exited(code);
    expect([WIFEXITED(s), WIFSIGNALED(s), WIFSTOPPED(s), WEXITSTATUS(s)]).toEqual([true, false, false, code]);
    expect(decodeWaitStatus(s)).toEqual({ kind: "exited", code });
    expect(exitCodeOf(s)).toBe(code);
  });

  test.each([1, 9, 15, 31, 64])("signal %d", (sig) => {
    const s = signaled(sig);
    expect([WIFEXITED(s), WIFSIGNALED(s), WIFSTOPPED(s), WTERMSIG(s), WCOREDUMP(s)]).toEqual([false, true, false, sig, false]);
    expect(exitCodeOf(s)).toBe(128 + sig);
  });

  test("core dump", () => {
    expect(decodeWaitStatus(signaled(11, true))).toEqual({ kind: "signaled", signal: 11, core: true });
  });

  test("stopped and continued", () => {
    const s = stopped(19);
    expect([WIFEXITED(s), WIFSIGNALED(s), WIFSTOPPED(s), WSTOPSIG(s)]).toEqual([false, false, true, 19]);
    expect(decodeWaitStatus(s)).toEqual({ kind: "stopped", signal: 19 });
    expect(decodeWaitStatus(0xffff)).toEqual({ kind: "continued" });
  });
});

describe("name tables", () => {
  test("signals parse in every spelling and print back", () => {
    expect([parseSignal("SIGTERM"), parseSignal("term"), parseSignal("9")]).toEqual([15, 15, 9]);
    expect(() => parseSignal("SIGNOPE")).toThrow(RangeError);
    expect([signalName(9), signalName(36), signalName(99)]).toEqual(["SIGKILL", "SIGRTMIN+2", "99"]);
  });

  test("rlimits parse from OCI names", () => {
    expect(parseRlimit("RLIMIT_NOFILE")).toBe(7);
    expect(parseRlimit("nproc")).toBe(RLIMIT.RLIMIT_NPROC);
    expect(() => parseRlimit("RLIMIT_BOGUS")).toThrow('Unknown rlimit "RLIMIT_BOGUS"');
  });

  test("envList keeps order and skips undefined", () => {
    expect(envList({ A: "1", B: undefined, C: "x=y" })).toEqual(["A=1", "C=x=y"]);
  });
});

describe("processStartTime", () => {
  // 52 fields; comm with a space and parens, state, then field 22 = 8123.
  const stat = (state: string) => `4242 (a (b) c) ${state} 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 8123 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;
  const root = mkdtempSync(join(tmpdir(), "proc-test-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const fake = (pid: number, text: string) => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), "stat"), text);
  };

  test("a running process: its ticks, not a zombie", () => {
    expect(parseStatStart(stat("S"))).toEqual({ ticks: "8123", zombie: false });
    fake(1, stat("R"));
    expect(processStartTime(1, root)).toEqual({ ticks: "8123", zombie: false });
  });

  test.each(["Z", "X"])("state %s: the same ticks, marked zombie", (state) => {
    expect(parseStatStart(stat(state))).toEqual({ ticks: "8123", zombie: true });
  });

  test("no such process, or an unparsable line: undefined", () => {
    expect(processStartTime(99999999, root)).toBeUndefined();
    expect(parseStatStart("garbage")).toBeUndefined();
    expect(parseStatStart("1 (x) S 1 2")).toBeUndefined();
  });

  test("this process, from the real /proc", () => {
    const t = processStartTime(process.pid);
    expect(t?.zombie).toBe(false);
    expect(t?.ticks).toMatch(/^\d+$/);
  });
});
