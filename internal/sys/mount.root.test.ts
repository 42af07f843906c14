import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mount, umount2 } from "./mount.ts";
import { MNT } from "./flags.ts";
import { isSysError } from "./errno.ts";

const isRoot = process.getuid?.() === 0;
const child = join(import.meta.dir, "testdata", "mount-child.ts");

function mountedHere(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === path);
}

async function inNewMountNs(mode: string, dir: string): Promise<Record<string, unknown>> {
  const p = Bun.spawn(["unshare", "-m", "--propagation", "private", process.execPath, child, mode, dir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`mount-child ${mode} exited ${code}: ${err}`);
  return JSON.parse(out);
}

describe.skipIf(!isRoot)("mount syscalls [requires root]", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("a tmpfs mounted in a new mount namespace is invisible outside it", async () => {
    dir = mkdtempSync(join(tmpdir(), "sys-mount-"));
    const seen = await inNewMountNs("tmpfs", dir);
    expect(seen).toEqual({ fstype: "tmpfs", hello: "from the child" });
    expect(mountedHere(dir)).toBe(false);
  });

  test("fsopen/fsconfig/fsmount/move_mount mount a tmpfs", async () => {
    dir = mkdtempSync(join(tmpdir(), "sys-fsmount-"));
    expect(await inNewMountNs("fsmount", dir)).toEqual({ fstype: "tmpfs", after: null });
  });

  test("pivot_root on a directory that is not a mount point fails with EINVAL naming it", async () => {
    dir = mkdtempSync(join(tmpdir(), "sys-pivot-"));
    const r = await inNewMountNs("pivot", dir);
    const sub = `${dir}/sub`;
    expect(r).toEqual({ syscall: "pivot_root", code: "EINVAL", path: sub, message: `pivot_root \`${sub}\`: EINVAL` });
  });

  test("mount errors carry the target, the code and the flags", () => {
    try {
      mount(null, "/nonexistent/sysbox-ts", null, 0x1000 | 0x4000);
      throw new Error("mount succeeded");
    } catch (e) {
      expect(isSysError(e, "ENOENT")).toBe(true);
      if (!isSysError(e)) return;
      expect(e.path).toBe("/nonexistent/sysbox-ts");
      expect(e.flags).toBe("MS_BIND|MS_REC");
    }
  });

  test("umount2 of a non-mount point is EINVAL", () => {
    dir = mkdtempSync(join(tmpdir(), "sys-umount-"));
    expect(() => umount2(dir, MNT.DETACH)).toThrow(`umount2 \`${dir}\` (MNT_DETACH): EINVAL`);
  });
});
