import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import {
  AccessIn, decodeAttrOut, decodeDirents, decodeEntryOut, decodeInitOut, decodeReply, encodeBatchForget, encodeInitIn,
  encodeName, encodeRequest, encodeWriteIn, FlushIn, ForgetIn, GetattrIn, GetxattrIn, GetxattrOut, InterruptIn,
  Kstatfs, OpenIn, OpenOut, ReadIn, ReleaseIn, SetattrIn, WriteOut,
} from "./codec.ts";
import { Connection, dispatch, OPCODES } from "./dispatch.ts";
import { FuseError } from "./errors.ts";
import { FATTR, FOPEN, INIT, OP } from "./proto.ts";
import { dir, file, pathId, TreeFs } from "./tree.ts";

/**
 * enum fuse_opcode of the kernel's protocol (include/uapi/linux/fuse.h),
 * written here from the header rather than from proto.ts. 7 is unused.
 */
const FUSE_OPCODE = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9, UNLINK: 10, RMDIR: 11,
  RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17, RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22,
  LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25, INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30,
  GETLK: 31, SETLK: 32, SETLKW: 33, ACCESS: 34, CREATE: 35, INTERRUPT: 36, BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40,
  NOTIFY_REPLY: 41, BATCH_FORGET: 42, FALLOCATE: 43, READDIRPLUS: 44, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48, REMOVEMAPPING: 49, SYNCFS: 50, TMPFILE: 51, STATX: 52,
} as const;

const ENOENT = 2, EIO = 5, EACCES = 13, EPERM = 1, EINVAL = 22, ENOSYS = 38, ENODATA = 61, EPROTO = 71, EINTR = 4, ENOTDIR = 20, EISDIR = 21;

/** Plays the kernel against a Connection: numbers requests, decodes replies. */
function kernel(conn: Connection) {
  let unique = 1n;
  async function send(opcode: number, nodeid: number, body?: Uint8Array, pid = 4242) {
    const u = unique++;
    const reply = await dispatch(conn, encodeRequest({ opcode, unique: u, nodeid, uid: 0, gid: 0, pid }, body));
    if (reply === null) return null;
    const r = decodeReply(reply);
    expect(r.unique).toBe(u);
    return r;
  }
  return {
    send,
    init: (minor = 45, flags = INIT.ASYNC_READ | INIT.BIG_WRITES | INIT.INIT_EXT | INIT.HAS_RESEND) =>
      send(OP.INIT, 0, encodeInitIn({ major: 7, minor, maxReadahead: 131072, flags })),
    async lookup(parent: number, name: string) {
      const r = (await send(OP.LOOKUP, parent, encodeName(name)))!;
      return r.errno ? r.errno : decodeEntryOut(r.body);
    },
    async open(nodeid: number, flags = 0) {
      const r = (await send(OP.OPEN, nodeid, OpenIn.encode({ flags })))!;
      return r.errno ? r.errno : OpenOut.decode(r.body);
    },
    async read(nodeid: number, fh: number, offset: number, size = 4096) {
      const r = (await send(OP.READ, nodeid, ReadIn.encode({ fh, offset, size })))!;
      return r.errno ? r.errno : new TextDecoder().decode(r.body);
    },
    async readdir(nodeid: number, fh: number, offset: number, size = 4096) {
      const r = (await send(OP.READDIR, nodeid, ReadIn.encode({ fh, offset, size })))!;
      return r.errno ? r.errno : decodeDirents(r.body);
    },
  };
}

function logger() {
  const lines: string[] = [];
  const rec = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

function setup() {
  const state = { value: "0\n", written: [] as string[] };
  let gate: () => void = () => {};
  const slowStarted = Promise.withResolvers<void>();
  const fs = new TreeFs(
    dir({
      proc: dir({
        uptime: file(() => "12.5 3.0\n"),
        counter: file(
          (() => {
            let n = 0;
            return () => `${"#".repeat(10)} read ${++n}\n`;
          })(),
        ),
        val: file(() => state.value, {
          write: (_ctx, data) => {
            const s = new TextDecoder().decode(data);
            if (!/^\d+\n?$/.test(s)) throw new FuseError(EINVAL);
            state.written.push(s);
            state.value = s;
          },
        }),
        broken: file(() => {
          throw new Error("host file vanished: /proc/secret/path");
        }),
        pid: file((ctx) => `${ctx.pid}\n`),
        slow: file(async (ctx) => {
          slowStarted.resolve();
          await new Promise<void>((r) => {
            gate = r;
            ctx.signal.addEventListener("abort", () => r());
          });
          return "slow\n";
        }),
        sys: dir({}, {
          lookup: (_ctx, name) => (name.startsWith("dyn") ? file(() => `${name}\n`) : undefined),
          list: () => [["dyn1", file(() => "")], ["dyn2", file(() => "")]],
        }),
      }),
      many: dir(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`entry-${String(i).padStart(3, "0")}`, file(() => "")]))),
    }),
    { owner: { uid: 100000, gid: 100000 }, time: 1700000000 },
  );
  const log = logger();
  const conn = new Connection(fs, { log, trace: true });
  return { fs, conn, k: kernel(conn), state, log, openGate: () => gate(), slowStarted: slowStarted.promise };
}

describe("INIT negotiation", () => {
  test("picks the lower minor, our wanted flags, our max_write", async () => {
    const { conn, k } = setup();
    const r = (await k.init(45))!;
    expect(r.errno).toBe(0);
    const out = decodeInitOut(r.body);
    expect(out).toMatchObject({ major: 7, minor: 31, maxWrite: 16384, timeGran: 1 });
    expect(out.flags).toBe(INIT.ASYNC_READ | INIT.BIG_WRITES);
    expect(conn.negotiated).toMatchObject({ minor: 31, kernelFlags: INIT.ASYNC_READ | INIT.BIG_WRITES | INIT.INIT_EXT | INIT.HAS_RESEND });
    const older = setup();
    expect(decodeInitOut((await older.k.init(26))!.body).minor).toBe(26);
  });

  test("too old a kernel is EPROTO; a newer major gets our version back", async () => {
    const { k, conn } = setup();
    expect((await k.init(22))!.errno).toBe(EPROTO);
    expect(conn.negotiated).toBeUndefined();
    const future = new Uint8Array(8);
    new DataView(future.buffer).setUint32(0, 8, true);
    const r = (await k.send(OP.INIT, 0, future))!;
    expect(decodeInitOut(r.body)).toMatchObject({ major: 7, minor: 31 });
  });

  test("requests before INIT are EIO; unknown opcodes ENOSYS", async () => {
    const { k } = setup();
    expect((await k.send(OP.GETATTR, 1, GetattrIn.encode({})))!.errno).toBe(EIO);
    await k.init();
    for (const op of [OP.MKDIR, OP.SYMLINK, OP.CREATE, OP.READDIRPLUS, 4242]) expect((await k.send(op, 1))!.errno).toBe(ENOSYS);
  });

  test("OP has the kernel's opcode numbers", () => {
    expect(OP).toEqual(FUSE_OPCODE);
  });

  test("each served opcode is keyed by its kernel number and named after it", () => {
    const served = Object.entries(OPCODES).map(([nr, o]) => [o.name, Number(nr)]);
    expect(served.length).toBeGreaterThan(0);
    for (const [name, nr] of served) expect([name, nr]).toEqual([name, FUSE_OPCODE[name as keyof typeof FUSE_OPCODE]]);
  });

  const HEADER = "/usr/include/linux/fuse.h";
  test.skipIf(!existsSync(HEADER))(`OP agrees with the host's ${HEADER} [requires linux-libc-dev]`, () => {
    const body = /enum fuse_opcode \{([^}]*)\}/.exec(readFileSync(HEADER, "utf8"))?.[1] ?? "";
    const inHeader = [...body.matchAll(/\bFUSE_([A-Z0-9_]+)\s*=\s*(\d+)/g)]
      .map(([, name, nr]) => [name, Number(nr)])
      .filter(([name]) => !String(name).endsWith("_RESERVED"));
    // The enum was found and read (it has had over 40 entries for many kernel releases).
    expect(inHeader.length).toBeGreaterThan(40);
    for (const [name, nr] of inHeader) expect([name, OP[name as keyof typeof OP]]).toEqual([name, nr]);
  });
});

describe("tree operations through dispatch", () => {
  test("LOOKUP and GETATTR: ids, modes, owner, sizes, times", async () => {
    const { k } = setup();
    await k.init();
    const proc = await k.lookup(1, "proc");
    if (typeof proc === "number") throw new Error(`errno ${proc}`);
    expect(proc.nodeid).toBe(pathId("/proc"));
    expect(proc.attr).toMatchObject({ mode: 0o40555, nlink: 2, uid: 100000, gid: 100000, mtime: 1700000000 });
    expect(proc.entryValid).toBe(1);
    const val = await k.lookup(proc.nodeid, "val");
    if (typeof val === "number") throw new Error(`errno ${val}`);
    expect(val.attr).toMatchObject({ mode: 0o100644, size: 0, ino: val.nodeid });
    const up = await k.lookup(proc.nodeid, "uptime");
    expect(typeof up !== "number" && up.attr.mode).toBe(0o100444);
    expect(await k.lookup(proc.nodeid, "nope")).toBe(ENOENT);
    expect(await k.lookup(val.nodeid, "x")).toBe(ENOTDIR);
    const ga = (await k.send(OP.GETATTR, val.nodeid, GetattrIn.encode({})))!;
    expect(decodeAttrOut(ga.body).attr.mode).toBe(0o100644);
    expect((await k.send(OP.GETATTR, 999, GetattrIn.encode({})))!.errno).toBe(116);
  });

  test("OPEN is direct-I/O; READ snapshots content per open file", async () => {
    const { k } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const c = (await k.lookup(proc.nodeid, "counter")) as { nodeid: number };
    const h = (await k.open(c.nodeid)) as { fh: number; openFlags: number };
    expect(h.openFlags & FOPEN.DIRECT_IO).toBe(FOPEN.DIRECT_IO);
    expect(await k.read(c.nodeid, h.fh, 0, 5)).toBe("#####");
    expect(await k.read(c.nodeid, h.fh, 5, 100)).toBe("##### read 1\n");
    expect(await k.read(c.nodeid, h.fh, 18, 100)).toBe("");
    expect(await k.read(c.nodeid, h.fh, 1000, 100)).toBe("");
    // A new read from offset 0 regenerates.
    expect(await k.read(c.nodeid, h.fh, 0, 100)).toBe("########## read 2\n");
    // An fh we never issued (a restart) still reads the node.
    expect(await k.read(c.nodeid, 777, 0, 100)).toBe("########## read 3\n");
    expect((await k.send(OP.FLUSH, c.nodeid, FlushIn.encode({ fh: h.fh })))!.errno).toBe(0);
    expect((await k.send(OP.RELEASE, c.nodeid, ReleaseIn.encode({ fh: h.fh })))!.errno).toBe(0);
    expect((await k.open(proc.nodeid))).toBe(EISDIR);
  });

  test("ctx.pid is the caller's pid from the header", async () => {
    const { k } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const p = (await k.lookup(proc.nodeid, "pid")) as { nodeid: number };
    const r = (await k.send(OP.READ, p.nodeid, ReadIn.encode({ fh: 1, offset: 0, size: 100 }), 31337))!;
    expect(new TextDecoder().decode(r.body)).toBe("31337\n");
  });

  test("WRITE, SETATTR truncate, and refusals", async () => {
    const { k, state } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const v = (await k.lookup(proc.nodeid, "val")) as { nodeid: number };
    const h = (await k.open(v.nodeid, 1)) as { fh: number };
    const tr = (await k.send(OP.SETATTR, v.nodeid, SetattrIn.encode({ valid: FATTR.SIZE, size: 0 })))!;
    expect(tr.errno).toBe(0);
    const w = (await k.send(OP.WRITE, v.nodeid, encodeWriteIn({ fh: h.fh, data: new TextEncoder().encode("7\n") })))!;
    expect(WriteOut.decode(w.body).size).toBe(2);
    expect(state.value).toBe("7\n");
    const bad = (await k.send(OP.WRITE, v.nodeid, encodeWriteIn({ fh: h.fh, data: new TextEncoder().encode("x") })))!;
    expect(bad.errno).toBe(EINVAL);
    expect(state.value).toBe("7\n");
    expect((await k.send(OP.SETATTR, v.nodeid, SetattrIn.encode({ valid: FATTR.MODE, mode: 0o777 })))!.errno).toBe(EPERM);
    const up = (await k.lookup(proc.nodeid, "uptime")) as { nodeid: number };
    expect(await k.open(up.nodeid, 1)).toBe(EACCES);
    expect(await k.open(up.nodeid, 2)).toBe(EACCES);
    expect((await k.send(OP.SETATTR, up.nodeid, SetattrIn.encode({ valid: FATTR.SIZE })))!.errno).toBe(EACCES);
    expect((await k.send(OP.ACCESS, up.nodeid, AccessIn.encode({ mask: 2 })))!.errno).toBe(EACCES);
    expect((await k.send(OP.ACCESS, up.nodeid, AccessIn.encode({ mask: 4 })))!.errno).toBe(0);
  });

  test("an unexpected handler error is EIO, logged once, without leaking to the caller", async () => {
    const { k, log } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const b = (await k.lookup(proc.nodeid, "broken")) as { nodeid: number };
    for (let i = 0; i < 3; i++) {
      const r = (await k.send(OP.READ, b.nodeid, ReadIn.encode({ fh: 1, size: 10 })))!;
      expect(r).toMatchObject({ errno: EIO, body: new Uint8Array(0) });
    }
    expect(log.lines.filter((l) => l.startsWith("warn") && l.includes("host file vanished"))).toHaveLength(1);
  });

  test("READDIR: dot entries, static and dynamic names, continued across small buffers", async () => {
    const { k } = setup();
    await k.init();
    const many = (await k.lookup(1, "many")) as { nodeid: number };
    const od = (await k.send(OP.OPENDIR, many.nodeid, OpenIn.encode({})))!;
    const { fh } = OpenOut.decode(od.body);
    const names: string[] = [];
    let offset = 0;
    let calls = 0;
    for (;;) {
      const page = await k.readdir(many.nodeid, fh, offset, 256);
      if (typeof page === "number") throw new Error(`errno ${page}`);
      if (page.length === 0) break;
      calls++;
      names.push(...page.map((e) => e.name));
      offset = page.at(-1)!.off;
    }
    expect(calls).toBeGreaterThan(10);
    expect(names.length).toBe(302);
    expect(names.slice(0, 3)).toEqual([".", "..", "entry-000"]);
    expect(new Set(names).size).toBe(302);
    expect((await k.send(OP.RELEASEDIR, many.nodeid, ReleaseIn.encode({ fh })))!.errno).toBe(0);

    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const sys = (await k.lookup(proc.nodeid, "sys")) as { nodeid: number };
    const list = (await k.readdir(sys.nodeid, 99, 0)) as { name: string; ino: number }[];
    expect(list.map((e) => e.name)).toEqual([".", "..", "dyn1", "dyn2"]);
    const dyn = (await k.lookup(sys.nodeid, "dyn7")) as { nodeid: number };
    expect(dyn.nodeid).toBe(pathId("/proc/sys/dyn7"));
    expect(list[2]!.ino).toBe(pathId("/proc/sys/dyn1"));
    expect(await k.lookup(sys.nodeid, "other")).toBe(ENOENT);
    expect((await k.readdir(proc.nodeid + 12345, 1, 0))).toBe(116);
  });

  test("FORGET and BATCH_FORGET get no reply; forgotten dynamic nodes go, static ones stay", async () => {
    const { k, fs } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const sys = (await k.lookup(proc.nodeid, "sys")) as { nodeid: number };
    const before = fs.size;
    const d = (await k.lookup(sys.nodeid, "dyn9")) as { nodeid: number };
    await k.lookup(sys.nodeid, "dyn9");
    expect(fs.size).toBe(before + 1);
    expect(await k.send(OP.FORGET, d.nodeid, ForgetIn.encode({ nlookup: 1 }))).toBeNull();
    expect(fs.size).toBe(before + 1);
    expect(await k.send(OP.BATCH_FORGET, 0, encodeBatchForget([{ nodeid: d.nodeid, nlookup: 1 }, { nodeid: proc.nodeid, nlookup: 5 }, { nodeid: 12345, nlookup: 1 }]))).toBeNull();
    expect(fs.size).toBe(before);
    expect((await k.lookup(1, "proc") as { nodeid: number }).nodeid).toBe(proc.nodeid);
    // A malformed no-reply request is dropped silently.
    expect(await k.send(OP.FORGET, 1, new Uint8Array(3))).toBeNull();
  });

  test("STATFS, xattrs, DESTROY, malformed bodies", async () => {
    const { k, conn } = setup();
    await k.init();
    expect(Kstatfs.decode((await k.send(OP.STATFS, 1))!.body)).toMatchObject({ bsize: 4096, namelen: 255 });
    const gx = new Uint8Array([...GetxattrIn.encode({ size: 0 }), ...encodeName("user.x")]);
    expect((await k.send(OP.GETXATTR, 1, gx))!.errno).toBe(ENODATA);
    const lx0 = (await k.send(OP.LISTXATTR, 1, GetxattrIn.encode({ size: 0 })))!;
    expect(GetxattrOut.decode(lx0.body).size).toBe(0);
    const lx = (await k.send(OP.LISTXATTR, 1, GetxattrIn.encode({ size: 100 })))!;
    expect(lx).toMatchObject({ errno: 0, body: new Uint8Array(0) });
    expect((await k.send(OP.READ, 1, new Uint8Array(10)))!.errno).toBe(EINVAL);
    expect((await k.send(OP.LOOKUP, 1, new Uint8Array([0x61])))!.errno).toBe(EINVAL);
    expect((await k.send(OP.DESTROY, 0))!.errno).toBe(0);
    expect(conn.destroyed).toBe(true);
  });
});

describe("concurrency and interrupts", () => {
  test("a slow handler does not hold up other requests", async () => {
    const { k, openGate, slowStarted } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const slow = (await k.lookup(proc.nodeid, "slow")) as { nodeid: number };
    const up = (await k.lookup(proc.nodeid, "uptime")) as { nodeid: number };
    const slowRead = k.read(slow.nodeid, 1, 0);
    await slowStarted;
    let slowDone = false;
    void slowRead.then(() => (slowDone = true));
    expect(await k.read(up.nodeid, 2, 0)).toBe("12.5 3.0\n");
    expect(slowDone).toBe(false);
    openGate();
    expect(await slowRead).toBe("slow\n");
  });

  test("INTERRUPT aborts the handler's signal and the request answers EINTR", async () => {
    const { k, conn, slowStarted } = setup();
    await k.init();
    const proc = (await k.lookup(1, "proc")) as { nodeid: number };
    const slow = (await k.lookup(proc.nodeid, "slow")) as { nodeid: number };
    const unique = 4n; // init=1, lookup=2, lookup=3
    const pending = k.send(OP.READ, slow.nodeid, ReadIn.encode({ fh: 1, size: 10 }));
    await slowStarted;
    expect(conn.inflight.has(unique)).toBe(true);
    expect(await dispatch(conn, encodeRequest({ opcode: OP.INTERRUPT, unique: 99n, nodeid: 0, uid: 0, gid: 0, pid: 1 }, InterruptIn.encode({ unique })))).toBeNull();
    expect((await pending)!.errno).toBe(EINTR);
    expect(conn.inflight.size).toBe(0);
    // Interrupting something long gone is harmless.
    expect(await dispatch(conn, encodeRequest({ opcode: OP.INTERRUPT, unique: 100n, nodeid: 0, uid: 0, gid: 0, pid: 1 }, InterruptIn.encode({ unique: 12345n })))).toBeNull();
  });

  test("debug lines name the request and its outcome", async () => {
    const { k, log } = setup();
    await k.init();
    await k.lookup(1, "proc");
    await k.lookup(1, "nope");
    expect(log.lines).toContain('debug rx 2: LOOKUP n1 "proc"');
    expect(log.lines).toContain("debug tx 2: OK");
    expect(log.lines).toContain("debug tx 3: ENOENT");
  });
});

test("pathId is stable, avoids the root id and stays below 2^53", () => {
  expect(pathId("/proc/uptime")).toBe(pathId("/proc/uptime"));
  expect(pathId("/proc/uptime")).not.toBe(pathId("/proc/swaps"));
  const ids = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const id = pathId(`/proc/sys/net/ipv4/conf/eth${i}/forwarding`);
    expect(id).toBeGreaterThan(1);
    expect(id).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    ids.add(id);
  }
  expect(ids.size).toBe(20000);
});
