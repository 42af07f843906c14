/**
 * Real FUSE mounts served by this process. Every access through a mount is
 * made by a child process (sh, cat, ls...): a synchronous read from the
 * serving thread would wait on itself.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { umount2 } from "../sys/mount.ts";
import { MNT } from "../sys/flags.ts";
import { FuseError } from "./errors.ts";
import { FuseSession } from "./session.ts";
import { dir, file, TreeFs } from "./tree.ts";

const canFuse = process.getuid?.() === 0 && existsSync("/dev/fuse");
/** Generous: child processes start slowly on a busy machine. */
const TIMEOUT = 30_000;

async function sh(script: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === path);
}

describe.skipIf(!canFuse)("FUSE sessions on real mounts [requires root and /dev/fuse]", () => {
  let tmp = "";
  const sessions: FuseSession[] = [];

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "fuse-session-"));
  });

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
    for (const l of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const mp = l.split(" ")[4];
      if (mp?.startsWith(tmp)) umount2(mp, MNT.DETACH);
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  function mountAt(name: string, fs: TreeFs): { mnt: string; s: FuseSession } {
    const mnt = join(tmp, name);
    mkdirSync(mnt);
    const s = FuseSession.mount(mnt, fs);
    sessions.push(s);
    return { mnt, s };
  }

  test("reads, writes, listings and errors from another process", async () => {
    let value = "0\n";
    const big = "0123456789abcdef".repeat(20000); // 320000 bytes: many READs
    const fs = new TreeFs(
      dir({
        proc: dir({
          uptime: file(() => "42.17 80.00\n"),
          val: file(() => value, {
            write: (_ctx, data) => {
              const s = new TextDecoder().decode(data).trim();
              if (!/^-?\d+$/.test(s)) throw new FuseError(22);
              value = `${s}\n`;
            },
          }),
          big: file(() => big),
          whoami: file((ctx) => `${ctx.pid} ${ctx.uid}\n`),
        }),
        many: dir(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, file(() => `${i}\n`)]))),
      }),
      { owner: { uid: 0, gid: 0 } },
    );
    const { mnt, s } = mountAt("mnt", fs);
    expect(mounted(mnt)).toBe(true);

    const r = await sh(`
      cd ${mnt}
      cat proc/uptime
      echo 7 > proc/val; cat proc/val
      printf 'abc\\n' > proc/val 2>/dev/null; echo "bad write: $?"; cat proc/val
      (echo 1 > proc/uptime) 2>/dev/null; echo "ro write: $?"
      cat proc/nope 2>/dev/null; echo "missing: $?"
      stat -c '%F %a %s %u' proc proc/val proc/uptime
      ls many | wc -l
      ls -a proc | tr '\\n' ' '; echo
      wc -c < proc/big
      sh -c 'echo $$; exec cat proc/whoami'
    `);
    expect(r.err).toBe("");
    const lines = r.out.trimEnd().split("\n");
    expect(lines.slice(0, 12)).toEqual([
      "42.17 80.00",
      "7",
      "bad write: 1",
      "7",
      "ro write: 2",
      "missing: 1",
      "directory 555 0 0",
      "regular empty file 644 0 0",
      "regular empty file 444 0 0",
      "1000",
      ". .. big uptime val whoami ",
      "320000",
    ]);
    // The pid in the request header is the reading process's.
    expect(lines[13]).toBe(`${lines[12]} 0`);
    const md5 = new Bun.CryptoHasher("md5").update(big).digest("hex");
    expect((await sh(`md5sum < ${mnt}/proc/big`)).out).toBe(`${md5}  -\n`);
    expect(s.negotiated?.minor).toBe(31);
  }, TIMEOUT);

  test("a slow handler does not block reads of other files", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const fs = new TreeFs(dir({ slow: file(async () => (await released, "slow\n")), fast: file(() => "fast\n") }));
    const { mnt } = mountAt("mnt", fs);
    const slow = sh(`cat ${mnt}/slow`);
    await Bun.sleep(100);
    const t0 = performance.now();
    expect((await sh(`cat ${mnt}/fast`)).out).toBe("fast\n");
    expect(performance.now() - t0).toBeLessThan(2000);
    release();
    expect((await slow).out).toBe("slow\n");
  }, TIMEOUT);

  test("a signal to a blocked reader interrupts the request; the mount keeps working", async () => {
    let aborted = false;
    const fs = new TreeFs(
      dir({
        hang: file(
          (ctx) =>
            new Promise<string>((resolve) =>
              ctx.signal.addEventListener("abort", () => {
                aborted = true;
                resolve("late\n");
              }),
            ),
        ),
        ok: file(() => "ok\n"),
      }),
    );
    const { mnt } = mountAt("mnt", fs);
    const r = await sh(`timeout -s USR1 0.3 cat ${mnt}/hang; echo "status $?"; cat ${mnt}/ok`);
    expect(r.out).toContain("ok\n");
    expect(r.out).toMatch(/status (124|138)/);
    expect(aborted).toBe(true);
  }, TIMEOUT);

  test("many concurrent readers of one mount all get their answers", async () => {
    let reads = 0;
    const fs = new TreeFs(dir(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, file(() => (reads++, `${i}\n`))]))));
    const { mnt } = mountAt("mnt", fs);
    // Async RELEASEs interleave with the next LOOKUP/OPEN/READ: the stream hands
    // over several requests at once, and each must be answered.
    const loops = Array.from({ length: 8 }, (_, i) => `(for n in $(seq 60); do cat ${mnt}/f${i}; done | sort -u > ${tmp}/u${i}) &`);
    const r = await sh(`${loops.join("\n")}\nwait`);
    expect(r.code).toBe(0);
    for (let i = 0; i < 8; i++) expect(readFileSync(join(tmp, `u${i}`), "utf8")).toBe(`${i}\n`);
    expect(reads).toBe(480);
  }, TIMEOUT);

  test("32 mounts served by one process at once", async () => {
    const n = 32;
    const mnts = Array.from({ length: n }, (_, i) => mountAt(`m${i}`, new TreeFs(dir({ id: file(() => `mount ${i}\n`) }))).mnt);
    // All readers run concurrently; each mount answers with its own content.
    const script = mnts.map((m, i) => `(cat ${m}/id > ${tmp}/out${i}) &`).join("\n") + "\nwait";
    const r = await sh(script);
    expect(r.code).toBe(0);
    for (let i = 0; i < n; i++) expect(readFileSync(join(tmp, `out${i}`), "utf8")).toBe(`mount ${i}\n`);
    // And again, in a loop, while all stay mounted.
    const loop = await sh(mnts.map((m) => `for i in 1 2 3 4 5; do cat ${m}/id; done > /dev/null &`).join("\n") + "\nwait; echo done");
    expect(loop.out).toBe("done\n");
  }, TIMEOUT);

  test("an unmount from outside ends the session cleanly; close() after it is harmless", async () => {
    const { mnt, s } = mountAt("mnt", new TreeFs(dir({ a: file(() => "a\n") })));
    expect((await sh(`cat ${mnt}/a`)).out).toBe("a\n");
    umount2(mnt, MNT.DETACH);
    expect(await s.ended).toEqual({ reason: "unmounted" });
    expect(await s.close()).toEqual({ reason: "unmounted" });
    expect(mounted(mnt)).toBe(false);
  }, TIMEOUT);

  test("close() unmounts and stops serving", async () => {
    const fs = new TreeFs(dir({ a: file(() => "a\n") }));
    const { mnt, s } = mountAt("mnt", fs);
    expect((await sh(`cat ${mnt}/a`)).out).toBe("a\n");
    expect(await s.close()).toEqual({ reason: "closed" });
    expect(mounted(mnt)).toBe(false);
    expect(fs.openHandles).toBe(0);
  }, TIMEOUT);
});
