/**
 * sysbox-runc driven directly with a bundle, the way runc is scripted, side
 * by side with the host's runc where runc's behaviour is the contract:
 * foreground terminals, hooks, the seccomp agent interface, OOM events,
 * exec --ignore-paused, device access strings, and a 50-cycle
 * create/start/delete loop that must leave nothing behind.
 *
 * Needs root, sysbox-runc and runc on PATH, the sysbox daemons running, and
 * dockerd with sysbox-test/debian:bookworm (exported once as the rootfs).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withPty } from "./fixtures/pty.ts";

setDefaultTimeout(120_000);

const IMAGE = "sysbox-test/debian:bookworm";
const PREFIX = `sbx-compat-${process.pid}-`;
const isRoot = process.getuid?.() === 0;
const sh = (cmd: string[]) => Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
const SYSBOX = Bun.which("sysbox-runc");
const RUNC = Bun.which("runc");
const dockerUp = isRoot && Bun.which("docker") !== null && sh(["docker", "image", "inspect", IMAGE]).exitCode === 0;
const daemonsUp = existsSync("/run/sysbox/sysmgr.sock") && existsSync("/run/sysbox/sysfs.sock");
const ready = dockerUp && daemonsUp && SYSBOX !== null && RUNC !== null;
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

interface Result {
  code: number;
  out: string;
  err: string;
}

let work = "";
let rootfs = "";
/** --root of each runtime, private to this run. */
let sysboxRoot = "";
let runcRoot = "";
let seq = 0;

const id = (tag: string) => `${PREFIX}${tag}-${++seq}`;

/**
 * Runs argv to its exit. Output goes through files, not pipes: a container
 * started by `create` or `run -d` inherits them and would hold a pipe open.
 */
async function run(argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<Result> {
  const base = join(work || tmpdir(), `out-${process.pid}-${++seq}`);
  const p = Bun.spawn(argv, {
    stdout: Bun.file(`${base}.out`), stderr: Bun.file(`${base}.err`),
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
  });
  const killer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const code = await p.exited;
  clearTimeout(killer);
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  const r = { code, out: read(`${base}.out`), err: read(`${base}.err`) };
  rmSync(`${base}.out`, { force: true });
  rmSync(`${base}.err`, { force: true });
  return r;
}

const sysbox = (...args: string[]) => run([SYSBOX!, "--root", sysboxRoot, ...args]);
const runc = (...args: string[]) => run([RUNC!, "--root", runcRoot, ...args]);
const sysboxCmd = (args: string) => `${SYSBOX} --root ${sysboxRoot} ${args}`;

/** The default spec (`sysbox-runc spec`), writable root, changed by `edit`, in a new bundle dir. */
async function bundle(tag: string, edit: (c: Record<string, any>) => void = () => {}, root = rootfs): Promise<string> {
  const dir = join(work, `bundle-${tag}-${++seq}`);
  mkdirSync(dir);
  const r = await run([SYSBOX!, "spec", "--bundle", dir]);
  if (r.code !== 0) throw new Error(`sysbox-runc spec: ${r.err}`);
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  c.root = { path: root, readonly: false };
  edit(c);
  writeFileSync(join(dir, "config.json"), JSON.stringify(c, null, 2));
  return dir;
}

async function statusOf(runtime: typeof sysbox, cid: string): Promise<string> {
  const r = await runtime("state", cid);
  return r.code === 0 ? JSON.parse(r.out).status : "gone";
}

async function waitStatus(runtime: typeof sysbox, cid: string, want: string): Promise<void> {
  for (let i = 0; i < 600 && (await statusOf(runtime, cid)) !== want; i++) await Bun.sleep(50);
  expect(await statusOf(runtime, cid)).toBe(want);
}

beforeAll(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), PREFIX));
  sysboxRoot = join(work, "state-sysbox");
  runcRoot = join(work, "state-runc");
  rootfs = join(work, "rootfs");
  mkdirSync(rootfs);
  const cid = (await run(["docker", "create", IMAGE, "true"])).out.trim();
  try {
    const r = await run(["sh", "-c", `docker export ${cid} | tar -x -C ${rootfs}`], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`docker export: ${r.err}`);
  } finally {
    await run(["docker", "rm", "-f", cid]);
  }
});

afterAll(async () => {
  if (!ready) return;
  for (const [rt, root] of [[SYSBOX!, sysboxRoot], [RUNC!, runcRoot]] as const) {
    if (!existsSync(root)) continue;
    for (const c of readdirSync(root)) await run([rt, "--root", root, "delete", "--force", c]);
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n").reverse()) {
    const mp = line.split(" ")[4];
    if (mp?.startsWith(work + "/")) sh(["umount", "-l", mp]);
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ready)(`sysbox-runc with a bundle, compared with runc [requires root, runc, the sysbox daemons, dockerd and ${IMAGE}]`, () => {
  describe("foreground terminal (terminal: true, no --console-socket)", () => {
    test("spec && run ID in a pty: an interactive sh on /dev/pts/0, and its exit code comes back", async () => {
      const b = await bundle("tty");
      const r = await withPty(`cd ${b} && ${sysboxCmd(`run ${id("tty")}`)}`, { ready: "# ", input: "echo hi-$((1+2)); tty\rexit 3\r" });
      expect(r.out).toContain("hi-3");
      expect(r.out).toContain("/dev/pts/0");
      expect(r.code).toBe(3);
    });

    test("stdin piped while stdout is the terminal, as runc allows", async () => {
      const b = await bundle("pipe");
      const cmd = (rt: string) => `cd ${b} && echo 'echo in-$((2+2)); exit 5' | ${rt}`;
      const ours = await withPty(cmd(sysboxCmd(`run ${id("pipe")}`)));
      const theirs = await withPty(cmd(`${RUNC} --root ${runcRoot} run ${id("pipe")}`));
      expect(theirs.code).toBe(5);
      expect(ours.code).toBe(5);
      expect(ours.out).toContain("in-4");
    });

    test("no terminal anywhere: refused as runc refuses it (/dev/tty), leaving no container", async () => {
      const b = await bundle("notty");
      const cid = id("notty");
      const ours = await run(["sh", "-c", `cd ${b} && setsid ${sysboxCmd(`run ${cid}`)} </dev/null`]);
      expect(ours.code).not.toBe(0);
      expect(ours.err).toContain("/dev/tty");
      expect(await statusOf(sysbox, cid)).toBe("gone");
    });

    test("create with terminal: true and no console socket: runc's error", async () => {
      const b = await bundle("create-tty");
      const [ours, theirs] = [await sysbox("create", "--bundle", b, id("ct")), await runc("create", "--bundle", b, id("ct"))];
      expect(theirs.err).toContain("cannot allocate tty if runc will detach without setting console socket");
      expect(ours.err).toContain("cannot allocate tty if runc will detach without setting console socket");
      expect(ours.code).toBe(theirs.code);
    });

    test("exec -t: the caller's window size, input, and the exit code", async () => {
      const b = await bundle("exec-tty", (c) => { c.process.terminal = false; c.process.args = ["sleep", "1000"]; });
      const cid = id("exec-tty");
      expect((await sysbox("run", "-d", "--bundle", b, cid)).code).toBe(0);
      const r = await withPty(`stty rows 33 cols 99; ${sysboxCmd(`exec -t ${cid} sh`)}`, { ready: "# ", input: "stty size; tty\rexit 7\r" });
      expect(r.out).toContain("33 99");
      expect(r.out).toContain("/dev/pts/");
      expect(r.code).toBe(7);
      await sysbox("delete", "--force", cid);
    });

    test("run without a terminal in the foreground: SIGTERM to sysbox-runc reaches the container's process", async () => {
      const b = await bundle("sig", (c) => { c.process.terminal = false; c.process.args = ["sh", "-c", "trap 'exit 42' TERM; echo up; sleep 1000 & wait"]; });
      const p = Bun.spawn([SYSBOX!, "--root", sysboxRoot, "run", "--bundle", b, id("sig")], { stdout: "pipe", stderr: "pipe" });
      const reader = p.stdout.getReader();
      let seen = "";
      while (!seen.includes("up")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      p.kill("SIGTERM");
      expect(await p.exited).toBe(42);
    });
  });

  describe("hooks", () => {
    const STAGES = ["createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

    /** Each hook writes its stdin and its mount namespace to <dir>/<stage>.{json,ns}; the createContainer one writes into the bundle (host root's dir). */
    async function hookRun(runtime: "sysbox" | "runc"): Promise<{ states: Record<string, any>; ns: Record<string, string>; dir: string; cid: string }> {
      const out = join(work, `hooks-${runtime}-${++seq}`);
      const inside = `/tmp/hooks-${runtime}-${seq}`;
      mkdirSync(out, { mode: 0o777 });
      mkdirSync(join(rootfs, inside), { recursive: true, mode: 0o777 });
      const hook = (stage: string) => {
        // startContainer runs in the container, after pivot_root: its files land in the rootfs.
        const dir = stage === "startContainer" ? inside : out;
        return [{ path: "/bin/sh", args: ["sh", "-c", `cat > ${dir}/${stage}.json; readlink /proc/self/ns/mnt > ${dir}/${stage}.ns`] }];
      };
      const b = await bundle(`hooks-${runtime}`, (c) => {
        c.process.terminal = false;
        c.process.args = ["true"];
        c.hooks = Object.fromEntries(STAGES.map((s) => [s, hook(s)]));
      });
      const cid = id(`hooks-${runtime}`);
      const r = await (runtime === "sysbox" ? sysbox : runc)("run", "--bundle", b, cid);
      if (r.code !== 0) throw new Error(`${runtime} run: ${r.err}`);
      const states: Record<string, any> = {};
      const ns: Record<string, string> = {};
      for (const s of STAGES) {
        const dir = s === "startContainer" ? join(rootfs, inside) : out;
        states[s] = JSON.parse(readFileSync(join(dir, `${s}.json`), "utf8"));
        ns[s] = readFileSync(join(dir, `${s}.ns`), "utf8").trim();
      }
      return { states, ns, dir: b, cid };
    }

    test("every stage gets id, bundle, status and pid; createContainer and startContainer run in the container's mount namespace", async () => {
      const ours = await hookRun("sysbox");
      const theirs = await hookRun("runc");
      const hostMnt = sh(["readlink", "/proc/self/ns/mnt"]).stdout.toString().trim();
      for (const s of STAGES) {
        const o = ours.states[s];
        const t = theirs.states[s];
        expect(o.id).toBe(ours.cid);
        expect(o.bundle).toBe(ours.dir);
        expect(o.annotations).toBeUndefined();
        // poststart: sysbox-runc says "running" (the process runs by then); runc 1.1 says "created".
        if (s !== "poststart") expect([s, o.status]).toEqual([s, t.status]);
        expect([s, "pid" in o]).toEqual([s, "pid" in t]);
      }
      expect(ours.states.createContainer.pid).toBe(1);
      expect(ours.states.startContainer.pid).toBe(1);
      expect(ours.ns.createContainer).toBe(ours.ns.startContainer);
      expect(ours.ns.createContainer).not.toBe(hostMnt);
      expect(ours.ns.createRuntime).toBe(hostMnt);
      expect(ours.ns.poststop).toBe(hostMnt);
    });

    test("a createContainer hook that writes into the bundle (host root's files) works as under runc", async () => {
      const cid = id("hook-write");
      const b = await bundle("hook-write", (c) => {
        c.process.terminal = false;
        c.process.args = ["true"];
        c.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /dev/null && echo ok > \"$BUNDLE_FILE\""], env: [`BUNDLE_FILE=${join(work, `written-${cid}`)}`] }] };
      });
      const r = await sysbox("run", "--bundle", b, cid);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(readFileSync(join(work, `written-${cid}`), "utf8")).toBe("ok\n");
    });
  });

  describe("seccomp agent (linux.seccomp.listenerPath)", () => {
    let agent: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
    let sock = "";
    let log = "";

    beforeAll(async () => {
      sock = join(work, "agent.sock");
      log = join(work, "agent.log");
      agent = Bun.spawn(["bun", join(import.meta.dir, "fixtures/seccomp_agent.ts"), sock, log], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const reader = agent.stdout.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      if (!new TextDecoder().decode(value).includes("listening")) throw new Error("the seccomp agent did not start");
    });

    afterAll(() => agent?.kill("SIGKILL"));

    const agentBundle = () => bundle("agent", (c) => {
      c.process.terminal = false;
      c.process.args = ["sh", "-c", "mkdir /agent-made && echo mkdir-ok; test -e /agent-made || echo not-made"];
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, listenerMetadata: "meta-1",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      };
    });

    test("without sysbox-fs: the agent gets runc's state message and the fd, and answers mkdir with success, as under runc", async () => {
      const b = await agentBundle();
      writeFileSync(log, "");
      const theirs = await runc("run", "--bundle", b, id("agent"));
      const theirLog = readFileSync(log, "utf8");
      writeFileSync(log, "");
      const cid = id("agent");
      const ours = await run([SYSBOX!, "--root", sysboxRoot, "--no-sysbox-fs", "run", "--bundle", b, cid]);
      const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(theirs.out).toBe("mkdir-ok\nnot-made\n");
      expect(ours.out).toBe(theirs.out);
      expect(ours.code).toBe(0);
      const msg = JSON.parse(lines[0].message);
      expect(lines[0].fds).toBe(1);
      expect(msg).toMatchObject({ ociVersion: "1.0.2-dev", fds: ["seccompFd"], metadata: "meta-1", state: { id: cid, status: "creating", bundle: b } });
      expect(msg.state.pid).toBe(msg.pid);
      const runcMsg = JSON.parse(JSON.parse(theirLog.split("\n")[0]!).message);
      expect(Object.keys(msg).sort()).toEqual(Object.keys(runcMsg).sort());
      expect(lines.some((l) => l.answered !== undefined)).toBe(true);
    });

    test("with sysbox-fs's interception: create refuses with the reason, and leaves no container", async () => {
      const b = await agentBundle();
      const cid = id("agent-fs");
      const r = await sysbox("run", "--bundle", b, cid);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain("one seccomp listener per process");
      expect(await statusOf(sysbox, cid)).toBe("gone");
    });
  });

  test("events: an oom event when the container's process is OOM-killed, as runc prints it", async () => {
    const go = `/tmp/go-${process.pid}-${++seq}`;
    const b = await bundle("oom", (c) => {
      c.process.terminal = false;
      c.process.args = ["sh", "-c", `while [ ! -e ${go} ]; do sleep 0.05; done; tail /dev/zero; sleep 1000`];
      c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 32 * 1024 * 1024 } };
    });
    const cid = id("oom");
    expect((await sysbox("run", "-d", "--bundle", b, cid)).code).toBe(0);
    const ev = Bun.spawn([SYSBOX!, "--root", sysboxRoot, "events", "--interval", "100ms", cid], { stdout: "pipe", stderr: "pipe" });
    const reader = ev.stdout.getReader();
    const lines: string[] = [];
    let buf = "";
    let released = false;
    while (!lines.some((l) => l.includes('"type":"oom"'))) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
      // The first stats line: events has its baseline; now let the process run out of memory.
      if (!released && lines.length > 0) {
        writeFileSync(join(rootfs, go), "");
        released = true;
      }
    }
    ev.kill();
    expect(lines).toContain(`{"type":"oom","id":"${cid}"}`);
    await sysbox("delete", "--force", cid);
    rmSync(join(rootfs, go), { force: true });
  });

  test("exec into a paused container: refused with runc's words and exit code; --ignore-paused runs it once resumed", async () => {
    const b = await bundle("paused", (c) => { c.process.terminal = false; c.process.args = ["sleep", "1000"]; });
    const cid = id("paused");
    expect((await sysbox("run", "-d", "--bundle", b, cid)).code).toBe(0);
    expect((await sysbox("pause", cid)).code).toBe(0);
    const refused = await sysbox("exec", cid, "true");
    expect(refused.code).toBe(255);
    expect(refused.err).toContain("cannot exec in a paused container (use --ignore-paused to override)");
    const late = sysbox("exec", "--ignore-paused", cid, "echo", "ran");
    expect((await sysbox("resume", cid)).code).toBe(0);
    const r = await late;
    expect(r.out).toBe("ran\n");
    expect(r.code).toBe(0);
    await sysbox("delete", "--force", cid);
  });

  test('a device rule with access "rwa" is accepted as runc accepts it', async () => {
    const b = await bundle("rwa", (c) => {
      c.process.terminal = false;
      c.process.args = ["true"];
      c.linux.resources = { ...(c.linux.resources ?? {}), devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwa" }] };
    });
    const theirs = await runc("run", "--bundle", b, id("rwa"));
    const ours = await sysbox("run", "--bundle", b, id("rwa"));
    expect(theirs.code).toBe(0);
    expect(ours.err).toBe("");
    expect(ours.code).toBe(0);
  });

  describe("50 create/start/delete cycles leave nothing behind", () => {
    const LOOP = `${PREFIX}loop-`;
    /** Made by the loop's sub-cgroup process once it is in the sub-cgroup. */
    const MARK = `/tmp/${PREFIX}in-sub`;
    let loopRootfs = "";
    const ids: string[] = [];

    /** Everything on the host that still names a loop container. */
    function leftovers(): Record<string, string[]> {
      const cgroups: string[] = [];
      const walk = (dir: string, depth: number) => {
        let entries: import("node:fs").Dirent[] = [];
        try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
        for (const e of entries) {
          if (!e.isDirectory()) continue;
          if (e.name.includes(LOOP)) cgroups.push(join(dir, e.name));
          else if (depth < 3) walk(join(dir, e.name), depth + 1);
        }
      };
      walk("/sys/fs/cgroup", 0);
      const procs: string[] = [];
      for (const p of readdirSync("/proc")) {
        if (!/^\d+$/.test(p)) continue;
        try {
          const text = readFileSync(`/proc/${p}/cgroup`, "utf8") + readFileSync(`/proc/${p}/cmdline`, "utf8");
          if (text.includes(LOOP)) procs.push(p);
        } catch { /* gone meanwhile */ }
      }
      const stage = existsSync("/run/sysbox/stage") ? readdirSync("/run/sysbox/stage").filter((e) => e.includes(LOOP)) : [];
      return {
        cgroups, procs, stage,
        mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(LOOP)),
        state: existsSync(sysboxRoot) ? readdirSync(sysboxRoot).filter((e) => e.startsWith(LOOP)) : [],
      };
    }

    function mgrIds(): string[] {
      const path = "/var/lib/sysbox/mgr-state.json";
      if (!existsSync(path)) return [];
      return (JSON.parse(readFileSync(path, "utf8")).containers as Array<{ id: string }>).map((c) => c.id).filter((i) => i.startsWith(LOOP));
    }

    beforeAll(() => {
      // A rootfs of their own: sysbox-mgr keeps a stopped container's range while its rootfs exists.
      loopRootfs = join(work, "loop-rootfs");
      mkdirSync(loopRootfs);
      if (sh(["mount", "--bind", rootfs, loopRootfs]).exitCode !== 0) throw new Error("mount --bind of the loop rootfs failed");
    });

    test("30 plain, 10 delete --force with sub-cgroups, 5 delete --force paused, 5 failed creates", async () => {
      const plain = await bundle("loop-plain", (c) => { c.process.terminal = false; c.process.args = ["true"]; }, loopRootfs);
      const sub = await bundle("loop-sub", (c) => {
        c.process.terminal = false;
        const d = V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids";
        c.process.args = ["sh", "-c", `mkdir ${d}/sub && sh -c "echo \\$\\$ > ${d}/sub/cgroup.procs && touch ${MARK} && exec sleep 1000" & exec sleep 1000`];
      }, loopRootfs);
      const sleeper = await bundle("loop-pause", (c) => { c.process.terminal = false; c.process.args = ["sleep", "1000"]; }, loopRootfs);
      const broken = await bundle("loop-fail", (c) => { c.process.terminal = false; c.process.args = ["/no/such/binary"]; }, loopRootfs);
      const next = () => { const i = `${LOOP}${ids.length}`; ids.push(i); return i; };

      for (let i = 0; i < 30; i++) {
        const cid = next();
        expect((await sysbox("create", "--bundle", plain, cid)).code).toBe(0);
        expect((await sysbox("start", cid)).code).toBe(0);
        await waitStatus(sysbox, cid, "stopped");
        expect((await sysbox("delete", cid)).code).toBe(0);
      }
      for (let i = 0; i < 10; i++) {
        const cid = next();
        expect((await sysbox("run", "-d", "--bundle", sub, cid)).code).toBe(0);
        const mark = join(loopRootfs, MARK);
        for (let n = 0; n < 400 && !existsSync(mark); n++) await Bun.sleep(25);
        expect(existsSync(mark)).toBe(true);
        expect((await sysbox("delete", "--force", cid)).code).toBe(0);
        rmSync(mark);
      }
      for (let i = 0; i < 5; i++) {
        const cid = next();
        expect((await sysbox("run", "-d", "--bundle", sleeper, cid)).code).toBe(0);
        expect((await sysbox("pause", cid)).code).toBe(0);
        expect((await sysbox("delete", "--force", cid)).code).toBe(0);
      }
      for (let i = 0; i < 5; i++) {
        const cid = next();
        const r = await sysbox("create", "--bundle", broken, cid);
        expect(r.code).not.toBe(0);
        expect(r.err).toContain("/no/such/binary");
      }
      expect(ids.length).toBe(50);
      // sysbox-fs stops a container's keeper processes after it is unregistered, in the background.
      let left = leftovers();
      for (let n = 0; n < 200 && Object.values(left).some((l) => l.length > 0); n++, left = leftovers()) await Bun.sleep(50);
      expect(left).toEqual({ cgroups: [], procs: [], stage: [], mounts: [], state: [] });

      // Ranges: kept while the rootfs exists (as Sysbox does), reclaimed at the next register once it is gone.
      sh(["umount", loopRootfs]);
      rmSync(loopRootfs, { recursive: true, force: true });
      const last = `${PREFIX}after-loop`;
      expect((await sysbox("create", "--bundle", await bundle("after", (c) => { c.process.terminal = false; c.process.args = ["true"]; }), last)).code).toBe(0);
      await sysbox("delete", "--force", last);
      expect(mgrIds()).toEqual([]);
    });
  });
});
