import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AT_FDCWD, MNT, O_FLAGS, close, moveMount, open, umount2 } from "../sys/mod.ts";
import { idmappedClone } from "./clone.ts";

const isRoot = process.getuid?.() === 0;

/** A `sleep` in a fresh user namespace mapped 0 -> 100000 (65536 ids), and an fd to that namespace. */
async function mappedUserns(): Promise<{ fd: number; [Symbol.asyncDispose](): Promise<void> }> {
  const p = Bun.spawn(["unshare", "-U", "sleep", "30"]);
  const self = readlinkSync("/proc/self/ns/user");
  for (let i = 0; readlinkSync(`/proc/${p.pid}/ns/user`) === self; i++) {
    if (i > 200) throw new Error("unshare -U did not create a user namespace");
    await Bun.sleep(5);
  }
  writeFileSync(`/proc/${p.pid}/uid_map`, "0 100000 65536\n");
  writeFileSync(`/proc/${p.pid}/gid_map`, "0 100000 65536\n");
  const fd = open(`/proc/${p.pid}/ns/user`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  return {
    fd,
    async [Symbol.asyncDispose]() {
      close(fd);
      p.kill();
      await p.exited;
    },
  };
}

describe.skipIf(!isRoot)("idmappedClone [requires root]", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test("a file owned by 0 shows as the mapped owner through the moved clone", async () => {
    await using userns = await mappedUserns();
    const src = mkdtempSync(join(tmpdir(), "idmap-src-"));
    const dst = mkdtempSync(join(tmpdir(), "idmap-dst-"));
    dirs.push(src, dst);
    writeFileSync(join(src, "file"), "x");
    expect(statSync(join(src, "file")).uid).toBe(0);

    const fd = idmappedClone(src, userns.fd, { recursive: true });
    try {
      moveMount(fd, "", AT_FDCWD, dst);
    } finally {
      close(fd);
    }
    try {
      const st = statSync(join(dst, "file"));
      expect(st.uid).toBe(100000);
      expect(st.gid).toBe(100000);
      expect(statSync(join(src, "file")).uid).toBe(0);
    } finally {
      umount2(dst, MNT.DETACH);
    }
  });

  test("a bad userns fd fails in mount_setattr and leaks no fd", () => {
    const src = mkdtempSync(join(tmpdir(), "idmap-src-"));
    dirs.push(src);
    const before = readdirSync("/proc/self/fd").length;
    expect(() => idmappedClone(src, 0)).toThrow(`mount_setattr \`${src}\` (AT_EMPTY_PATH set=MOUNT_ATTR_IDMAP): EINVAL`);
    expect(readdirSync("/proc/self/fd").length).toBe(before);
  });
});
