import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CAPS, boundingSet, capget, capMask, lastCap } from "./caps.ts";

const isRoot = process.getuid?.() === 0;
const child = join(import.meta.dir, "testdata", "caps-child.ts");

function statusField(text: string, name: string): bigint {
  const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in status`);
  return BigInt(`0x${m[1]}`);
}

async function run(mode: string): Promise<{ dropped: string[]; before: string; after: string }> {
  const p = Bun.spawn([process.execPath, child, mode], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`caps-child ${mode} exited ${code}: ${err}`);
  const [json, ...rest] = out.split("\n");
  const r = JSON.parse(json!) as { dropped: string[]; caps: string };
  return { dropped: r.dropped, before: r.caps, after: rest.join("\n") };
}

const granted = capMask([CAPS.CAP_CHOWN, CAPS.CAP_NET_BIND_SERVICE, CAPS.CAP_SETPCAP]);
const NET_BIND = capMask([CAPS.CAP_NET_BIND_SERVICE]);

describe.skipIf(!isRoot)("capabilities [requires root]", () => {
  test("capget of self matches /proc and the bounding set", () => {
    const status = readFileSync("/proc/thread-self/status", "utf8");
    const c = capget();
    expect(c.effective).toBe(statusField(status, "CapEff"));
    expect(c.permitted).toBe(statusField(status, "CapPrm"));
    expect(c.inheritable).toBe(statusField(status, "CapInh"));
    expect(boundingSet()).toBe(statusField(status, "CapBnd"));
    expect(c.permitted & ~boundingSet()).toBe(0n);
    expect(lastCap()).toBeGreaterThanOrEqual(40);
  });

  test("applyCapabilities as root: unavailable caps are reported, the rest applied", async () => {
    const hasResource = (boundingSet() & capMask([CAPS.CAP_SYS_RESOURCE])) !== 0n;
    const r = await run("root");
    expect(r.dropped).toEqual(hasResource ? ["CAP_NOT_A_CAP"] : ["CAP_SYS_RESOURCE", "CAP_NOT_A_CAP"]);
    const want = hasResource ? granted | capMask([CAPS.CAP_SYS_RESOURCE]) : granted;
    for (const f of ["CapEff", "CapPrm", "CapInh", "CapBnd"]) expect(statusField(r.before, f)).toBe(want);
    expect(statusField(r.before, "CapAmb")).toBe(NET_BIND);
    expect(statusField(r.after, "CapBnd")).toBe(want);
  });

  test("applyCapabilities after setresuid(1000) with keepcaps: ambient caps survive execve", async () => {
    const r = await run("user");
    expect(statusField(r.before, "CapPrm") & ~capMask([CAPS.CAP_SYS_RESOURCE])).toBe(granted);
    expect(statusField(r.after, "CapEff")).toBe(NET_BIND);
    expect(statusField(r.after, "CapPrm")).toBe(NET_BIND);
    expect(statusField(r.after, "CapAmb")).toBe(NET_BIND);
    expect(statusField(r.after, "CapBnd") & ~capMask([CAPS.CAP_SYS_RESOURCE])).toBe(granted);
  });
});
