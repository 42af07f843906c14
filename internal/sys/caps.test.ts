import { describe, expect, test } from "bun:test";
import {
  CAPS, applyCapabilities, capMask, capName, capsOf, lookupCap, parseCap, parseCapBnd, type CapOps, type CapSets,
} from "./caps.ts";

describe("capability names", () => {
  test("the table runs from CAP_CHOWN=0 to CAP_CHECKPOINT_RESTORE=40 without gaps", () => {
    const values = (Object.values(CAPS) as number[]).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: 41 }, (_, i) => i));
    expect(CAPS.CAP_SYS_ADMIN).toBe(21);
    expect(CAPS.CAP_CHECKPOINT_RESTORE).toBe(40);
  });

  test("parse accepts OCI names and bare lower-case names", () => {
    expect([parseCap("CAP_SYS_ADMIN"), parseCap("sys_admin"), parseCap("Cap_Bpf")]).toEqual([21, 21, 39]);
    expect(lookupCap("CAP_NOPE")).toBeUndefined();
    expect(() => parseCap("CAP_NOPE")).toThrow('Unknown capability "CAP_NOPE"');
    expect([capName(0), capName(41)]).toEqual(["CAP_CHOWN", "CAP_41"]);
  });

  test("masks round-trip across the 32-bit word boundary", () => {
    const caps = [0, 8, 31, 32, 40];
    expect(capMask(caps)).toBe(0x1_8000_0101n | (1n << 40n));
    expect(capsOf(capMask(caps))).toEqual(caps);
  });

  test("CapBnd is read from status text", () => {
    const status = "Name:\tbun\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n";
    expect(parseCapBnd(status)).toBe(0x1fffeffffffn);
    expect(() => parseCapBnd("Name:\tx\n")).toThrow(RangeError);
  });
});

/** A thread whose bounding set lacks CAP_SYS_RESOURCE (24), like the development machines. */
function recordingOps(cur: CapSets): { ops: CapOps; calls: string[] } {
  const calls: string[] = [];
  const ops: CapOps = {
    lastCap: () => 40,
    boundingSet: () => 0x1fffeffffffn,
    capget: () => cur,
    capset: (s) => void calls.push(`capset e=${s.effective.toString(16)} p=${s.permitted.toString(16)} i=${s.inheritable.toString(16)}`),
    capBsetDrop: (c) => void calls.push(`drop ${c}`),
    ambientClearAll: () => void calls.push("ambient clear"),
    ambientRaise: (c) => void calls.push(`ambient raise ${c}`),
  };
  return { ops, calls };
}

describe("applyCapabilities", () => {
  const all = Object.keys(CAPS);

  test("drops bounding caps first, then capsets, then sets ambient", () => {
    const { ops, calls } = recordingOps({ effective: 0x1fffeffffffn, permitted: 0x1fffeffffffn, inheritable: 0n });
    const set = ["CAP_CHOWN", "CAP_SETPCAP", "CAP_BPF"];
    const dropped = applyCapabilities({ bounding: set, effective: set, permitted: set, inheritable: ["CAP_CHOWN"], ambient: ["CAP_CHOWN"] }, ops);
    expect(dropped).toEqual([]);
    const drops = calls.filter((c) => c.startsWith("drop "));
    expect(drops.length).toBe(41 - 1 - 3); // everything but the three and the missing SYS_RESOURCE
    expect(drops).not.toContain("drop 24");
    expect(calls.slice(drops.length)).toEqual([
      `capset e=${(0x8000000101n).toString(16)} p=8000000101 i=1`,
      "ambient clear",
      "ambient raise 0",
    ]);
    expect(calls.indexOf("drop 1")).toBe(0);
  });

  test("an ambient cap that is not also inheritable is reported, not raised", () => {
    const { ops, calls } = recordingOps({ effective: 0x1fffeffffffn, permitted: 0x1fffeffffffn, inheritable: 0n });
    const dropped = applyCapabilities({ permitted: ["CAP_KILL"], ambient: ["CAP_KILL"] }, ops);
    expect(dropped).toEqual(["CAP_KILL (ambient: not permitted and inheritable)"]);
    expect(calls).not.toContain("ambient raise 5");
  });

  test("caps outside the host's bounding set or unknown are reported, never fatal", () => {
    const { ops, calls } = recordingOps({ effective: 0x1fffeffffffn, permitted: 0x1fffeffffffn, inheritable: 0n });
    const dropped = applyCapabilities({ bounding: [...all, "CAP_FUTURE"], effective: ["CAP_SYS_RESOURCE"], permitted: all }, ops);
    expect(dropped).toEqual(["CAP_SYS_RESOURCE", "CAP_FUTURE"]);
    expect(calls).toEqual([`capset e=0 p=1fffeffffff i=0`, "ambient clear"]);
  });

  test("re-raises CAP_SETPCAP into effective when it is only permitted", () => {
    const { ops, calls } = recordingOps({ effective: 0n, permitted: 0x1fffeffffffn, inheritable: 0n });
    applyCapabilities({ bounding: ["CAP_KILL"] }, ops);
    expect(calls[0]).toBe("capset e=100 p=1fffeffffff i=0");
    expect(calls[1]).toBe("drop 0");
  });
});
