/**
 * In the test VM: a system container's root filesystem and volumes on
 * Debian's 6.1 kernel, which ID-maps ext4 mounts and overlay lower layers
 * but neither an overlay mount itself nor tmpfs.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { IMAGE, RT, docker, isGuest, ok } from "./_guest.ts";

describe.skipIf(!isGuest)("rootfs and volumes on kernel 6.1 [requires the test VM]", () => {
  test("root owns the rootfs, a named volume, a --tmpfs and a host bind mount inside, and can write to each", () => {
    const host = mkdtempSync("/var/tmp/vm-bind-");
    writeFileSync(`${host}/from-host`, "x");
    const vol = `vm-vol-${process.pid}`;
    try {
      const out = ok([
        "run", RT, "--rm", "-v", `${vol}:/data`, "--tmpfs", "/scratch", "-v", `${host}:/hostdir`, IMAGE, "sh", "-c",
        "touch /etc/new /data/f /scratch/f /hostdir/f && stat -c '%n %u' / /etc/new /data /data/f /scratch /scratch/f /hostdir/from-host /hostdir/f",
      ]);
      const owners = Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ") as [string, string]));
      for (const p of ["/", "/etc/new", "/data", "/data/f", "/scratch", "/scratch/f", "/hostdir/from-host", "/hostdir/f"]) expect([p, owners[p]]).toEqual([p, "0"]);
      // The host sees the file written through the ID-mapped bind as its own root's.
      expect(statSync(`${host}/f`).uid).toBe(0);
    } finally {
      rmSync(host, { recursive: true, force: true });
      docker(["volume", "rm", "-f", vol]);
    }
  });
});
