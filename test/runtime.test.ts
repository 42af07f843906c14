/**
 * End to end through the real dockerd: every "must show" item of the runtime
 * issue, run with `--runtime=sysbox-runc` and, where the two should agree,
 * compared with the same command under the default runtime (runc).
 *
 * Needs root, a reachable dockerd with sysbox-runc registered, and the
 * sysbox-test/debian:bookworm image (scripts/images.sh). Containers, volumes
 * and temp dirs carry this run's unique prefix and are removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { withPty } from "./fixtures/pty.ts";

setDefaultTimeout(60_000);

const IMAGE = "sysbox-test/debian:bookworm";
/** The runtime under test; SYSBOX_E2E_RUNTIME names another registration of it (a build under test). */
const RUNTIME = process.env.SYSBOX_E2E_RUNTIME || "sysbox-runc";
/** Where the shim keeps both runtimes' state (it passes --root to each). */
const STATE_ROOT = "/run/docker/runtime-runc/moby";
const PREFIX = `sbx-e2e-${process.pid}-`;

interface Result {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function runSync(argv: string[]): Result {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString(), ms: performance.now() - t0 };
}

/** Runs argv, killing it after `timeoutMs` so a hung container fails the test instead of the suite. */
async function run(argv: string[], timeoutMs = 60_000): Promise<Result> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const killer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(killer);
  return { code, out, err, ms: performance.now() - t0 };
}

const docker = (...args: string[]) => run(["docker", ...args]);

/** `docker ...` that must succeed; returns trimmed stdout. */
async function dockerOk(...args: string[]): Promise<string> {
  const r = await docker(...args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.err.trim()}`);
  return r.out.trim();
}

const isRoot = process.getuid?.() === 0;
const dockerUp = isRoot && Bun.which("docker") !== null && runSync(["docker", "info", "--format", "{{.ID}}"]).code === 0;
const runtimeRegistered = dockerUp && runSync(["docker", "info", "--format", "{{json .Runtimes}}"]).out.includes(`"${RUNTIME}"`);
const haveImage = dockerUp && runSync(["docker", "image", "inspect", IMAGE]).code === 0;
const ready = runtimeRegistered && haveImage;

/** Pure cgroup v2 host (the container sees cgroup2 at /sys/fs/cgroup) or v1/hybrid. */
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");

/** The host's CPUs as "0-N" when there are two or more numbered from 0, else undefined. */
const HOST_CPUS = (() => {
  const file = V2 ? "/sys/fs/cgroup/cpuset.cpus.effective" : "/sys/fs/cgroup/cpuset/cpuset.cpus";
  const cpus = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  return /^0-\d+$/.test(cpus) ? cpus : undefined;
})();

let seq = 0;
const names: string[] = [];
const volumes: string[] = [];
const tmpDirs: string[] = [];

/** A unique container name, removed in afterAll. */
function uniq(tag: string): string {
  const n = `${PREFIX}${tag}-${++seq}`;
  names.push(n);
  return n;
}

/**
 * `docker run --rm` under one runtime; "runc" means Docker's default. Exit
 * code 125 (the daemon or the runtime failed to create or start the
 * container) throws with Docker's message, which no test here expects.
 */
async function runIn(runtime: string, ...args: string[]): Promise<Result> {
  const r = await docker("run", "--rm", `--runtime=${runtime}`, ...args);
  if (r.code === 125) throw new Error(`docker run --runtime=${runtime} ${args.join(" ")}: ${r.err.trim()}`);
  return r;
}

const sysbox = (...args: string[]) => runIn(RUNTIME, ...args);

/** Runs the same `docker run --rm` under runc and sysbox-runc; both results, runc's first. */
async function both(...args: string[]): Promise<[Result, Result]> {
  const a = await runIn("runc", ...args);
  const b = await runIn(RUNTIME, ...args);
  return [a, b];
}

/** Starts a detached sysbox-runc container and returns its name. */
async function detached(tag: string, args: string[], cmd: string[], runtime = RUNTIME): Promise<string> {
  const name = uniq(tag);
  await dockerOk("run", "-d", "--name", name, `--runtime=${runtime}`, ...args, IMAGE, ...cmd);
  return name;
}

const inspect = (name: string, format: string) => dockerOk("inspect", "-f", format, name);

/** Polls `docker logs` until it contains `text`. */
async function waitForLog(name: string, text: string, ms = 15_000): Promise<string> {
  let logs = "";
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(50)) {
    const r = await docker("logs", name);
    logs = r.out + r.err;
    if (logs.includes(text)) return logs;
  }
  throw new Error(`container ${name}: "${text}" never appeared in its logs:\n${logs}`);
}

/** A process's cgroup directory on the host in one v1 hierarchy (or the v2 one). */
function hostCgroupDir(pid: number, controller: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
    const [, ctrls = "", path = ""] = line.split(":");
    if (V2 ? ctrls === "" : ctrls.split(",").includes(controller)) {
      return V2 ? join("/sys/fs/cgroup", path) : join("/sys/fs/cgroup", controller, path);
    }
  }
  throw new Error(`pid ${pid} is in no ${controller} cgroup`);
}

/**
 * The container's own cgroup on the host, where Docker's limits are set: the
 * ancestor of its init's cgroup named after the container (a system
 * container's init sits one level down, in its delegated child).
 */
async function containerCgroupDir(name: string, controller: string): Promise<string> {
  const [pid = "", id = ""] = (await inspect(name, "{{.State.Pid}} {{.Id}}")).split(" ");
  let dir = hostCgroupDir(Number(pid), controller);
  while (basename(dir) !== id) {
    if (dir === "/sys/fs/cgroup" || dir === "/") throw new Error(`no cgroup named ${id} above ${hostCgroupDir(Number(pid), controller)}`);
    dir = dirname(dir);
  }
  return dir;
}

/** The limits Docker's flags should produce: [controller, file] on v1, or the v2 file. */
const LIMIT_FILES = V2
  ? { memory: ["", "memory.max"], quota: ["", "cpu.max"], pids: ["", "pids.max"] }
  : { memory: ["memory", "memory.limit_in_bytes"], quota: ["cpu", "cpu.cfs_quota_us"], pids: ["pids", "pids.max"] };

async function readLimits(name: string, which: Array<keyof typeof LIMIT_FILES>): Promise<string[]> {
  const out: string[] = [];
  for (const k of which) {
    const [controller = "", file = ""] = LIMIT_FILES[k];
    out.push(readFileSync(join(await containerCgroupDir(name, controller), file), "utf8").trim());
  }
  return out;
}

/** The same files as the container sees them at the root of its /sys/fs/cgroup. */
const insidePath = (k: keyof typeof LIMIT_FILES) => join("/sys/fs/cgroup", ...LIMIT_FILES[k]);

function capEff(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) throw new Error(`no CapEff in:\n${status}`);
  return BigInt(`0x${m[1]}`);
}

/** Processes (host pids) whose cgroup path mentions `id`. */
function processesInCgroupsOf(id: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cgroup`, "utf8").includes(id)) pids.push(Number(e));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

/** Cgroup directories named `id` anywhere in the first three levels of /sys/fs/cgroup. */
function cgroupDirsNamed(id: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === id) found.push(join(dir, e.name));
      else if (depth < 3) walk(join(dir, e.name), depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return found;
}

function hostBounding(): bigint {
  return BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
}

/** Filled in before the tests: whether the runtime makes system containers (own user namespace). */
const mode = { syscont: false };

describe.skipIf(!ready)(
  `docker --runtime=${RUNTIME} end to end [requires root, a reachable dockerd with ${RUNTIME} registered, and ${IMAGE}]`,
  () => {
    beforeAll(async () => {
      const map = (await dockerOk("run", "--rm", `--runtime=${RUNTIME}`, IMAGE, "cat", "/proc/self/uid_map")).split(/\s+/);
      mode.syscont = map.join(" ") !== "0 0 4294967295";
    });

    afterAll(async () => {
      const ids = (await docker("ps", "-aq", "--filter", `name=^${PREFIX}`)).out.split("\n").filter(Boolean);
      if (ids.length) await docker("rm", "-f", ...ids);
      if (volumes.length) await docker("volume", "rm", "-f", ...volumes);
      for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
    });

    test("run --rm IMAGE echo hi", async () => {
      const r = await sysbox(IMAGE, "echo", "hi");
      expect(r.err).toBe("");
      expect(r.out).toBe("hi\n");
      expect(r.code).toBe(0);
    });

    test("run --rm leaves no state behind", async () => {
      const dir = mkdtempSync(join(tmpdir(), PREFIX));
      tmpDirs.push(dir);
      const cidfile = join(dir, "cid");
      expect((await sysbox("--cidfile", cidfile, IMAGE, "true")).code).toBe(0);
      const id = readFileSync(cidfile, "utf8").trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(STATE_ROOT, id))).toBe(false);
      expect(cgroupDirsNamed(id)).toEqual([]);
    });

    test("sh -c 'exit 3' exits 3, like runc", async () => {
      const [runc, ours] = await both(IMAGE, "sh", "-c", "exit 3");
      expect(runc.code).toBe(3);
      expect(ours.code).toBe(3);
      expect(ours.err).toBe("");
    });

    test("-it: the process gets /dev/pts/0 as its controlling tty and its exit code comes back", async () => {
      const r = await withPty(`docker run --runtime=${RUNTIME} --rm -it ${IMAGE} sh -c 'tty; exit 5'`);
      expect(r.out).toContain("/dev/pts/0");
      expect(r.code).toBe(5);
    });

    test("-it: input typed at the terminal reaches the process", async () => {
      const r = await withPty(
        `docker run --runtime=${RUNTIME} --rm -it ${IMAGE} sh -c 'echo ready; read line; echo "got:$line"; exit 6'`,
        { ready: "ready", input: "hello\r" },
      );
      expect(r.out).toContain("got:hello");
      expect(r.code).toBe(6);
    });

    describe("a detached container", () => {
      let name: string;
      beforeAll(async () => {
        name = await detached("detached", [], ["sleep", "4242"]);
      });

      test("-d then exec", async () => {
        expect(await inspect(name, "{{.State.Running}}")).toBe("true");
        const r = await docker("exec", name, "sh", "-c", "echo in-$(hostname); exit 7");
        expect(r.out).toBe(`in-${(await inspect(name, "{{.Config.Hostname}}"))}\n`);
        expect(r.code).toBe(7);
      });

      test("exec -u 1000: id -u is 1000", async () => {
        expect(await dockerOk("exec", "-u", "1000", name, "id", "-u")).toBe("1000");
        expect(await dockerOk("exec", "-u", "1000:1000", name, "id")).toBe("uid=1000 gid=1000 groups=1000");
      });

      test("exec -it: a tty and the exit code", async () => {
        const r = await withPty(`docker exec -it ${name} sh -c 'tty; exit 4'`);
        expect(r.out).toMatch(/\/dev\/pts\/\d+/);
        expect(r.code).toBe(4);
      });

      test("exec of a missing binary fails like runc's (exit 126, executable file not found)", async () => {
        const r = await docker("exec", name, "no-such-binary");
        expect(r.code).toBe(126);
        // The docker client prints an exec start failure on stdout.
        expect(r.out + r.err).toContain(`exec: "no-such-binary": executable file not found in $PATH`);
      });

      test("top lists the process", async () => {
        const out = await dockerOk("top", name);
        expect(out.split("\n")[0]).toContain("PID");
        expect(out).toContain("sleep 4242");
        const pid = await inspect(name, "{{.State.Pid}}");
        expect(out.split("\n").slice(1).some((l) => l.split(/\s+/)[1] === pid)).toBe(true);
      });

      test("stats --no-stream shows a memory usage", async () => {
        const out = await dockerOk("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", name);
        const [mem = "", pids = ""] = out.split("|");
        const m = /^([\d.]+)([KMG]i)?B \/ ([\d.]+)([KMGT]i)?B$/.exec(mem);
        expect(m).not.toBeNull();
        expect(Number(m![1])).toBeGreaterThan(0);
        expect(Number(pids)).toBeGreaterThanOrEqual(1);
      });

      test("pause/unpause: status Paused with the cgroup FROZEN, then running again", async () => {
        const pid = Number(await inspect(name, "{{.State.Pid}}"));
        const freezer = V2 ? join(hostCgroupDir(pid, ""), "cgroup.freeze") : join(hostCgroupDir(pid, "freezer"), "freezer.state");
        await dockerOk("pause", name);
        try {
          expect(await inspect(name, "{{.State.Status}} {{.State.Paused}}")).toBe("paused true");
          expect(readFileSync(freezer, "utf8").trim()).toBe(V2 ? "1" : "FROZEN");
          // The frozen task waits in the freezer, not on a run queue.
          expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^State:\s+[DS] /m);
          const ex = await docker("exec", name, "true");
          expect(ex.code).not.toBe(0);
          expect(ex.err).toContain("paused");
        } finally {
          await dockerOk("unpause", name);
        }
        expect(await inspect(name, "{{.State.Status}} {{.State.Paused}}")).toBe("running false");
        expect(readFileSync(freezer, "utf8").trim()).toBe(V2 ? "0" : "THAWED");
        expect(await dockerOk("exec", name, "echo", "thawed")).toBe("thawed");
      });
    });

    test("update --memory 300m --cpus 1 is visible in the container's cgroup", async () => {
      const name = await detached("update", [], ["sleep", "4243"]);
      // The 20.10 daemon refuses --memory alone once the memsw limit exists (runc alike): give both.
      await dockerOk("update", "--memory", "300m", "--memory-swap", "600m", "--cpus", "1", name);
      const want = [String(300 << 20), V2 ? "100000 100000" : "100000"];
      expect(await readLimits(name, ["memory", "quota"])).toEqual(want);
      if (!V2) expect(readFileSync(join(await containerCgroupDir(name, "memory"), "memory.memsw.limit_in_bytes"), "utf8").trim()).toBe(String(600 << 20));
      // A plain container sees its limits at the root of its cgroupfs; a system container's root is its delegated child.
      if (!mode.syscont) expect((await dockerOk("exec", name, "cat", insidePath("memory"), insidePath("quota"))).split("\n")).toEqual(want);
      expect(await inspect(name, "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}")).toBe(`${300 << 20} 1000000000`);
    });

    test.skipIf(HOST_CPUS === undefined)("update --cpuset-cpus narrows and widens the cpuset, as with runc [requires two or more CPUs numbered from 0]", async () => {
      const cpus = HOST_CPUS!;
      const name = await detached("cpuset", [], ["sleep", "4248"]);
      const allowed = async () => (await dockerOk("exec", name, "grep", "Cpus_allowed_list", "/proc/self/status")).split(/\s+/)[1];
      await dockerOk("update", "--cpuset-cpus", "0", "--pids-limit", "77", name);
      expect(await allowed()).toBe("0");
      expect(await readLimits(name, ["pids"])).toEqual(["77"]);
      await dockerOk("update", "--cpuset-cpus", cpus, name);
      expect(await allowed()).toBe(cpus);
    });

    test("stop: a SIGTERM trap runs and the container exits at once", async () => {
      const name = await detached("stop-term", [], ["sh", "-c", 'trap "echo got-TERM; exit 0" TERM; echo ready; sleep infinity & wait']);
      await waitForLog(name, "ready");
      const r = await docker("stop", name);
      expect(r.code).toBe(0);
      expect(r.ms).toBeLessThan(5000);
      expect(await inspect(name, "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 0");
      expect((await docker("logs", name)).out).toContain("got-TERM");
    });

    test("stop -t 1: a process that ignores SIGTERM is SIGKILLed after the timeout", async () => {
      const name = await detached("stop-kill", [], ["sh", "-c", 'trap "" TERM; echo ready; sleep infinity & wait']);
      await waitForLog(name, "ready");
      const r = await docker("stop", "-t", "1", name);
      expect(r.code).toBe(0);
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(6000);
      expect(await inspect(name, "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 137");
    });

    test("kill -s HUP reaches the process's trap, and the container keeps running", async () => {
      const name = await detached("hup", [], ["sh", "-c", 'trap "echo got-HUP" HUP; echo ready; while :; do sleep infinity & wait; done']);
      await waitForLog(name, "ready");
      await dockerOk("kill", "-s", "HUP", name);
      await waitForLog(name, "got-HUP");
      expect(await inspect(name, "{{.State.Running}}")).toBe("true");
      await dockerOk("kill", name);
      expect(await inspect(name, "{{.State.Running}} {{.State.ExitCode}}")).toBe("false 137");
    });

    test("restart: a new init, running again", async () => {
      const name = await detached("restart", [], ["sh", "-c", 'trap "exit 0" TERM; echo ready; sleep infinity & wait']);
      await waitForLog(name, "ready");
      const before = await inspect(name, "{{.State.Pid}} {{.State.StartedAt}}");
      await dockerOk("restart", "-t", "5", name);
      const after = await inspect(name, "{{.State.Pid}} {{.State.StartedAt}}");
      expect(after.split(" ")[0]).not.toBe(before.split(" ")[0]);
      expect(after.split(" ")[1]).not.toBe(before.split(" ")[1]);
      expect(await inspect(name, "{{.State.Running}}")).toBe("true");
      expect(await dockerOk("exec", name, "echo", "back")).toBe("back");
      expect((await docker("logs", name)).out.match(/ready/g)).toHaveLength(2);
    });

    test("--user 1000:1000, like runc", async () => {
      const [runc, ours] = await both("--user", "1000:1000", IMAGE, "id");
      expect(ours.out).toBe("uid=1000 gid=1000 groups=1000\n");
      expect(ours.out).toBe(runc.out);
    });

    test("HOME and the environment match runc's, for root and other users", async () => {
      for (const user of ["0", "1000", "daemon"]) {
        const [runc, ours] = await both("-u", user, "-e", "FOO=bar", IMAGE, "sh", "-c", "env | grep -v ^HOSTNAME= | sort");
        expect(ours.code).toBe(0);
        expect(ours.out).toBe(runc.out);
      }
    });

    test("--read-only --tmpfs /run: / refuses writes with EROFS, /run is writable", async () => {
      const r = await sysbox("--read-only", "--tmpfs", "/run", IMAGE, "sh", "-c",
        "touch /x 2>&1; echo rc=$?; touch /run/y && echo run-ok; grep -E ' / | /run ' /proc/self/mountinfo | cut -d' ' -f5,6");
      expect(r.out).toContain("Read-only file system");
      expect(r.out).toContain("rc=1");
      expect(r.out).toContain("run-ok");
      expect(r.out).toMatch(/^\/ ro[,\n]/m);
      expect(r.out).toMatch(/^\/run rw[,\n]/m);
    });

    test("-v: a host dir (rw and ro)", async () => {
      const dir = mkdtempSync(join(tmpdir(), PREFIX));
      tmpDirs.push(dir);
      writeFileSync(join(dir, "from-host"), "host data\n");
      const r = await sysbox("-v", `${dir}:/hv`, IMAGE, "sh", "-c", "cat /hv/from-host; echo container data > /hv/from-container");
      expect(r.code).toBe(0);
      expect(r.out).toBe("host data\n");
      expect(readFileSync(join(dir, "from-container"), "utf8")).toBe("container data\n");
      const ro = await sysbox("-v", `${dir}:/hv:ro`, IMAGE, "sh", "-c", "cat /hv/from-host; touch /hv/x");
      expect(ro.out).toBe("host data\n");
      expect(ro.err).toContain("Read-only file system");
      expect(ro.code).not.toBe(0);
    });

    test("-v: a named volume keeps data between containers", async () => {
      const vol = `${PREFIX}vol`;
      volumes.push(vol);
      await dockerOk("volume", "create", vol);
      expect((await sysbox("-v", `${vol}:/data`, IMAGE, "sh", "-c", "echo kept > /data/f")).code).toBe(0);
      const r = await sysbox("-v", `${vol}:/data`, IMAGE, "cat", "/data/f");
      expect(r.out).toBe("kept\n");
    });

    test("--network none: only lo, like runc", async () => {
      const [runc, ours] = await both("--network", "none", IMAGE, "ls", "/sys/class/net");
      expect(ours.out).toBe("lo\n");
      expect(ours.out).toBe(runc.out);
    });

    test("--network container:X joins X's network namespace", async () => {
      const x = await detached("netns", ["--network", "none"], ["sleep", "4244"]);
      const pid = Number(await inspect(x, "{{.State.Pid}}"));
      const want = readlinkSync(`/proc/${pid}/ns/net`);
      expect(want).toMatch(/^net:\[\d+\]$/);
      const r = await sysbox("--network", `container:${x}`, IMAGE, "readlink", "/proc/self/ns/net");
      expect(r.out.trim()).toBe(want);
      // And a runc container can join a sysbox-runc one's.
      const viaRunc = await runIn("runc", "--network", `container:${x}`, IMAGE, "readlink", "/proc/self/ns/net");
      expect(viaRunc.out.trim()).toBe(want);
    });

    test("--ulimit nofile=1024:2048, like runc", async () => {
      const [runc, ours] = await both("--ulimit", "nofile=1024:2048", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn");
      expect(ours.out).toBe("1024\n2048\n");
      expect(ours.out).toBe(runc.out);
    });

    test("--cap-drop/--cap-add: CapEff as with runc, or every host capability for a system container's root", async () => {
      const CHOWN = 1n << 0n, NET_BIND_SERVICE = 1n << 10n, NET_RAW = 1n << 13n, SYS_ADMIN = 1n << 21n;
      const status = async (...args: string[]) => {
        const [runc, ours] = await both(...args, IMAGE, "cat", "/proc/self/status");
        expect(ours.code).toBe(0);
        return { runc: capEff(runc.out), ours: capEff(ours.out) };
      };
      const cases: Array<[string[], (dflt: bigint) => bigint]> = [
        [[], (d) => d],
        [["--cap-drop", "ALL"], () => 0n],
        [["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"], () => NET_BIND_SERVICE],
        [["--cap-drop", "CHOWN", "--cap-drop", "NET_RAW"], (d) => d & ~CHOWN & ~NET_RAW],
        [["--cap-add", "SYS_ADMIN"], (d) => d | SYS_ADMIN],
      ];
      const dflt = (await status()).runc;
      expect(dflt & CHOWN).toBe(CHOWN);
      expect(dflt & SYS_ADMIN).toBe(0n);
      for (const [args, want] of cases) {
        const got = await status(...args);
        expect(got.runc).toBe(want(dflt));
        // A system container's root holds every capability of the host's bounding set in its own user namespace (as Sysbox does).
        expect(got.ours).toBe(mode.syscont ? hostBounding() : want(dflt));
      }
    });

    test("--cap-add SYS_RESOURCE: granted where the host's bounding set has it, dropped (not fatal) where it lacks it", async () => {
      const SYS_RESOURCE = 1n << 24n;
      const r = await sysbox("--cap-add", "SYS_RESOURCE", IMAGE, "cat", "/proc/self/status");
      expect(r.code).toBe(0);
      expect(capEff(r.out) & SYS_RESOURCE).toBe(hostBounding() & SYS_RESOURCE);
    });

    test("--security-opt no-new-privileges: NoNewPrivs is 1", async () => {
      const [runc, ours] = await both("--security-opt", "no-new-privileges", IMAGE, "grep", "NoNewPrivs", "/proc/self/status");
      expect(ours.out).toBe("NoNewPrivs:\t1\n");
      expect(ours.out).toBe(runc.out);
      expect((await sysbox(IMAGE, "grep", "NoNewPrivs", "/proc/self/status")).out).toBe("NoNewPrivs:\t0\n");
    });

    test("-w /tmp sets the working directory", async () => {
      const [runc, ours] = await both("-w", "/tmp", IMAGE, "pwd");
      expect(ours.out).toBe("/tmp\n");
      expect(ours.out).toBe(runc.out);
    });

    test("-u 1000 -w /root: a cwd only root may enter is entered before the user switch, as runc does", async () => {
      const [runc, ours] = await both("-u", "1000", "-w", "/root", IMAGE, "sh", "-c", "pwd; id -u; ls . 2>&1 >/dev/null | grep -c denied");
      expect(ours.out).toBe("/root\n1000\n1\n");
      expect(ours.out).toBe(runc.out);
    });

    test("--memory 64m --cpus 0.5 --pids-limit 50 are visible in the container's cgroup", async () => {
      const limits = ["--memory", "64m", "--cpus", "0.5", "--pids-limit", "50"];
      const want = [String(64 << 20), V2 ? "50000 100000" : "50000", "50"];
      const name = await detached("limits", limits, ["sleep", "4247"]);
      expect(await readLimits(name, ["memory", "quota", "pids"])).toEqual(want);
      if (!mode.syscont) {
        const [runc, ours] = await both(...limits, IMAGE, "cat", insidePath("memory"), insidePath("quota"), insidePath("pids"));
        expect(ours.out.split("\n").slice(0, 3)).toEqual(want);
        expect(ours.out).toBe(runc.out);
      }
    });

    test("a runc container runs side by side with a sysbox-runc one", async () => {
      const ours = await detached("side-sysbox", [], ["sleep", "4245"]);
      const theirs = await detached("side-runc", [], ["sleep", "4246"], "runc");
      expect(await inspect(ours, "{{.HostConfig.Runtime}} {{.State.Running}}")).toBe(`${RUNTIME} true`);
      expect(await inspect(theirs, "{{.HostConfig.Runtime}} {{.State.Running}}")).toBe("runc true");
      expect(await dockerOk("exec", ours, "cat", "/proc/1/cmdline")).toBe("sleep\x004245\x00");
      expect(await dockerOk("exec", theirs, "cat", "/proc/1/cmdline")).toBe("sleep\x004246\x00");
      const ps = await dockerOk("ps", "--filter", `name=^${PREFIX}side-`, "--format", "{{.Names}}");
      expect(ps.split("\n").sort()).toEqual([ours, theirs].sort());
      await dockerOk("rm", "-f", ours, theirs);
    });

    test("seccomp: Docker's profile blocks personality(ADDR_NO_RANDOMIZE) as with runc; unconfined allows it", async () => {
      const probe = ["sh", "-c", "grep Seccomp: /proc/self/status; setarch x86_64 -R true"];
      const [runc, ours] = await both(IMAGE, ...probe);
      expect(runc.err).toContain("Operation not permitted");
      expect(ours.out).toBe("Seccomp:\t2\n");
      expect(ours.err).toContain("Operation not permitted");
      expect(ours.code).toBe(runc.code);
      const [runcOff, oursOff] = await both("--security-opt", "seccomp=unconfined", IMAGE, ...probe);
      expect(runcOff.code).toBe(0);
      // A system container always keeps sysbox-fs's mount/umount listener, so its mode stays 2;
      // what unconfined must change is that the blocked call now works.
      expect(oursOff.out).toBe(mode.syscont ? "Seccomp:\t2\n" : "Seccomp:\t0\n");
      expect(oursOff.code).toBe(0);
    });

    test("seccomp: unshare(CLONE_NEWUSER) is blocked as with runc, or allowed in a system container", async () => {
      const [runc, ours] = await both(IMAGE, "unshare", "--user", "true");
      expect(runc.err).toContain("Operation not permitted");
      if (mode.syscont) {
        // Sysbox widens Docker's profile so system software can nest containers.
        expect(ours.err).toBe("");
        expect(ours.code).toBe(0);
      } else {
        expect(ours.err).toContain("Operation not permitted");
        expect(ours.code).toBe(runc.code);
      }
    });

    test("a missing binary fails create with runc's message and leaves nothing behind", async () => {
      const name = uniq("bad");
      const id = await dockerOk("create", "--name", name, `--runtime=${RUNTIME}`, IMAGE, "nonexistent-binary");
      const r = await docker("start", name);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain(`exec: "nonexistent-binary": executable file not found in $PATH`);
      expect(existsSync(join(STATE_ROOT, id))).toBe(false);
      expect(cgroupDirsNamed(id)).toEqual([]);
      expect(processesInCgroupsOf(id)).toEqual([]);
      // docker run reports it with the exit code runc gets.
      const [runc, ours] = await both(IMAGE, "nonexistent-binary");
      expect(ours.code).toBe(runc.code);
      expect(ours.err).toContain("executable file not found in $PATH");
    });

    test("a process setting the kernel refuses (an rlimit above nr_open) fails create, as with runc", async () => {
      const name = uniq("bad-rlimit");
      const id = await dockerOk("create", "--name", name, `--runtime=${RUNTIME}`, "--ulimit", "nofile=2000000000:2000000000", IMAGE, "true");
      const r = await docker("start", name);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain("OCI runtime create failed");
      expect(r.err).toContain("RLIMIT_NOFILE");
      expect(existsSync(join(STATE_ROOT, id))).toBe(false);
      expect(cgroupDirsNamed(id)).toEqual([]);
      expect(processesInCgroupsOf(id)).toEqual([]);
    });

    test("a program the user may not run fails create with runc's exit code", async () => {
      // /root is 0700: uid 1000 cannot even stat the program, as runc reports it.
      const [runc, ours] = await both("-u", "1000", IMAGE, "/root/prog");
      expect(runc.err).toContain(`exec: "/root/prog": stat /root/prog: permission denied`);
      expect(ours.err).toContain(`exec: "/root/prog": stat /root/prog: permission denied`);
      expect(ours.code).toBe(runc.code);
    });
  },
);

const STATIC_IMAGE = "sysbox-test/static:busybox";
const haveStatic = ready && runSync(["docker", "image", "inspect", STATIC_IMAGE]).code === 0;

describe.skipIf(!haveStatic)(`an image with no libc and no libseccomp (${STATIC_IMAGE}) [requires root, dockerd, scripts/images.sh static]`, () => {
  test("run, exec and exec -it work as with runc: the runtime needs nothing from the image", async () => {
    const [runc, ours] = await both(STATIC_IMAGE, "sh", "-c", "echo hi; id -u");
    expect(ours.out).toBe(runc.out);
    expect(ours.code).toBe(0);
    const name = uniq("static");
    await dockerOk("run", "-d", "--name", name, `--runtime=${RUNTIME}`, STATIC_IMAGE, "sleep", "300");
    const mnt = await dockerOk("exec", name, "readlink", "/proc/1/ns/mnt");
    expect(await dockerOk("exec", name, "readlink", "/proc/self/ns/mnt")).toBe(mnt);
    const r = await withPty(`docker exec -it ${name} sh -c 'test -t 0 && echo tty; exit 3'`);
    expect(r.out).toContain("tty");
    expect(r.code).toBe(3);
  });
});
