import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readlinkSync } from "node:fs";
import { close, open, pipe2, read, write, O_FLAGS } from "../sys/fs.ts";
import { processStartTime } from "../sys/procstat.ts";
import { keeperAlive, reclaimFd, spawnKeeper, stopKeeper, strayKeepers, type KeeperRecord } from "./keeper.ts";

const canFuse = process.getuid?.() === 0 && existsSync("/dev/fuse");

describe.skipIf(!canFuse)("keepers [requires root and /dev/fuse]", () => {
  const started: KeeperRecord[] = [];
  afterEach(() => {
    for (const k of started.splice(0)) stopKeeper(k);
  });

  test("a keeper holds the fd; pidfd_getfd takes it back; stop ends it", async () => {
    const fd = open("/dev/fuse", O_FLAGS.RDWR | O_FLAGS.NONBLOCK | O_FLAGS.CLOEXEC);
    const owner = { mountpoint: "/var/lib/sysboxfs-test/abc", stateFile: `/run/test-${process.pid}/fs-state.json` };
    const k = await spawnKeeper(fd, owner);
    started.push(k);
    close(fd);
    expect(k.startTime).toBe(processStartTime(k.pid)!.ticks);
    expect(keeperAlive(k)).toBe(true);
    expect(readlinkSync(`/proc/${k.pid}/fd/3`)).toBe("/dev/fuse");
    expect(readFileSyncSafe(`/proc/${k.pid}/cmdline`)).toBe(`sysbox-fs-keeper ${owner.mountpoint} ${owner.stateFile}\0infinity\0`);
    // Found by its state file when that file does not name it; not when it does, nor by another daemon.
    expect(strayKeepers(owner.stateFile, new Set())).toEqual([{ ...k, mountpoint: owner.mountpoint }]);
    expect(strayKeepers(owner.stateFile, new Set([k.pid]))).toEqual([]);
    expect(strayKeepers(`/run/test-other-${process.pid}/fs-state.json`, new Set())).toEqual([]);

    const back = reclaimFd(k);
    expect(back).toBeNumber();
    expect(readlinkSync(`/proc/self/fd/${back}`)).toBe("/dev/fuse");
    close(back!);

    // A record whose start time does not match is someone else's process: left alone.
    const impostor = { pid: k.pid, startTime: "1" };
    expect(keeperAlive(impostor)).toBe(false);
    expect(reclaimFd(impostor)).toBeUndefined();
    stopKeeper(impostor);
    expect(keeperAlive(k)).toBe(true);

    stopKeeper(k);
    for (let i = 0; i < 200 && processStartTime(k.pid) !== undefined; i++) await Bun.sleep(5);
    expect(keeperAlive(k)).toBe(false);
    expect(reclaimFd(k)).toBeUndefined();
  });

  test("a keeper that cannot hold the fd is an error", async () => {
    const fd = open("/dev/fuse", O_FLAGS.RDWR | O_FLAGS.CLOEXEC);
    try {
      await expect(spawnKeeper(fd, { mountpoint: "/x", stateFile: "/y" }, { command: ["true"] })).rejects.toThrow("did not come up holding /dev/fuse");
    } finally {
      close(fd);
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)("keepers of other fds [requires root]", () => {
  test("a pipe, named by `held`: kept, taken back as the same pipe, not mistaken for /dev/fuse", async () => {
    const [r, w] = pipe2(O_FLAGS.CLOEXEC);
    const held = readlinkSync(`/proc/self/fd/${r}`);
    expect(held).toMatch(/^pipe:\[\d+\]$/);
    const stateFile = `/run/test-pipe-${process.pid}/state.json`;
    const k = await spawnKeeper(r, { mountpoint: "pipe:test", stateFile }, { held });
    try {
      close(r);
      expect(keeperAlive(k, held)).toBe(true);
      expect(keeperAlive(k)).toBe(false);
      expect(strayKeepers(stateFile, new Set(), held)).toEqual([{ ...k, mountpoint: "pipe:test" }]);
      expect(strayKeepers(stateFile, new Set())).toEqual([]);
      const back = reclaimFd(k, held)!;
      write(w, new Uint8Array([7]));
      const buf = new Uint8Array(1);
      expect(read(back, buf)).toBe(1);
      expect(buf[0]).toBe(7);
      close(back);
    } finally {
      stopKeeper(k);
      close(w);
    }
  });
});

function readFileSyncSafe(path: string): string {
  return require("node:fs").readFileSync(path, "utf8");
}
