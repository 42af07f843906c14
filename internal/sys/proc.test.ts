import { describe, expect, test } from "bun:test";
import {
  RLIMIT, WCOREDUMP, WEXITSTATUS, WIFEXITED, WIFSIGNALED, WIFSTOPPED, WSTOPSIG, WTERMSIG, decodeWaitStatus,
  envList, exitCodeOf, parseRlimit, parseSignal, signalName,
} from "./proc.ts";

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
