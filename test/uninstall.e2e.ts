/**
 * The real uninstall, end to end, on this machine, then the reinstall that
 * puts the machine back as it was: scripts/uninstall.sh refuses while a
 * system container exists, then with --remove-containers removes it and
 * everything of sysbox-ts while a runc container and the user's keys in
 * daemon.json stay; scripts/install.sh then reinstalls and a system
 * container runs again.
 *
 * It removes every system container on the host and stops the daemons, so
 * it must not run beside other tests: its name keeps `bun test` from finding
 * it, and scripts/test.sh runs it last, on its own:
 *
 *   bun test ./test/uninstall.e2e.ts     (the ./ makes bun take it as a path)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const isRoot = process.getuid?.() === 0;
const DAEMON_JSON = "/etc/docker/daemon.json";
const IMAGE = "sysbox-test/debian:bookworm";
const BINARIES = ["/usr/bin/sysbox-runc", "/usr/bin/sysbox-mgr", "/usr/bin/sysbox-fs"];
const RUNC_CTR = "uninstall-e2e-runc";
const SYS_CTR = "uninstall-e2e-sys";
const EXTRA_RUNTIME = "uninstall-e2e-runc";
const DEMO = "sysbox-demo";

const MIN = 60_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

let dir = "";
let n = 0;

/**
 * Runs a command to completion. Output goes to files, not pipes: daemons
 * the installer starts must not hold this process's pipes open.
 */
async function run(cmd: string[], timeoutMs = 5 * MIN): Promise<Run> {
  const base = join(dir, `run-${n++}`);
  const p = Bun.spawn(cmd, {
    cwd: ROOT,
    stdin: "ignore",
    stdout: Bun.file(`${base}.out`),
    stderr: Bun.file(`${base}.err`),
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const code = await p.exited;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { code, out: read(`${base}.out`), err: read(`${base}.err`) };
}

/** Shows a script's run in the test log, the way a user would see it. */
function show(title: string, r: Run): void {
  console.log(`--- ${title}: exit ${r.code}\n${r.err}${r.out}`);
}

async function docker(...args: string[]): Promise<Run> {
  return run(["docker", ...args], 2 * MIN);
}

/** The runtimes dockerd lists; none if it does not answer. */
async function runtimes(): Promise<string[]> {
  const r = await docker("info", "--format", "{{range $k, $v := .Runtimes}}{{$k}} {{end}}");
  if (r.code !== 0) console.error(`docker info: ${r.err}`);
  return r.code === 0 ? r.out.trim().split(/\s+/) : [];
}

async function state(name: string): Promise<string> {
  const r = await docker("inspect", "--format", "{{.State.Status}}", name);
  return r.code === 0 ? r.out.trim() : "absent";
}

/** The installed binary a process runs, if it still runs. */
function exeOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined; // gone, or a zombie
  }
}

/**
 * Host processes named sysbox-mgr or sysbox-fs that run an installed binary,
 * in this pid namespace; a daemon's own child of a moment (a helper between
 * fork and exec, while system containers such as sysbox-demo keep it busy)
 * is not a second daemon.
 */
async function installedDaemons(): Promise<string[]> {
  const found: string[] = [];
  const selfNs = readlinkSync("/proc/self/ns/pid");
  for (const name of ["sysbox-mgr", "sysbox-fs"]) {
    const r = await run(["pgrep", "-x", name]);
    for (const pid of r.out.split("\n").filter(Boolean)) {
      const exe = exeOf(pid);
      // Tests elsewhere may run the binaries from build/; those are not the installation.
      if (exe !== `/usr/bin/${name}`) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/pid`) !== selfNs) continue;
        const ppid = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]!;
        if (exeOf(ppid) === exe) continue;
      } catch {
        continue; // gone meanwhile
      }
      found.push(`${name} pid ${pid} (${exe})`);
    }
  }
  return found;
}

/** sysbox-fs keepers of the real mount root still running. */
function keepers(): string[] {
  const r = Bun.spawnSync(["bash", "-c", "grep -lsaz '^sysbox-fs-keeper /var/lib/sysboxfs/' /proc/[0-9]*/cmdline || true"]);
  return r.stdout.toString().split("\n").filter(Boolean);
}

/** Mount points at or under `dir`. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Writes through a temporary file and rename, as the scripts do. */
function writeJson(text: string): void {
  const tmp = `${DAEMON_JSON}.e2e-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, DAEMON_JSON);
}

let originalJson: string | undefined;
let demoWasRunning = false;
let reinstalled = false;
let userConfig: Record<string, unknown> = {};

async function installed(): Promise<boolean> {
  return BINARIES.every((b) => existsSync(b)) && (await runtimes()).includes("sysbox-runc") && (await installedDaemons()).length === 2;
}

/** The installer, as the README says; a sysbox-demo only if there was one. */
async function reinstall(): Promise<Run> {
  if (originalJson !== undefined && readFileSync(DAEMON_JSON, "utf8") !== originalJson) writeJson(originalJson);
  const r = await run(["bash", "scripts/install.sh", ...(demoWasRunning ? [] : ["--no-demo"])], 15 * MIN);
  show(`bash scripts/install.sh${demoWasRunning ? "" : " --no-demo"}`, r);
  return r;
}

describe.skipIf(!isRoot)("uninstall.sh and install.sh, for real [requires root and an installation]", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "uninstall-e2e-"));
    expect(BINARIES.filter((b) => !existsSync(b))).toEqual([]);
    expect(await runtimes()).toContain("sysbox-runc");
    expect((await docker("image", "inspect", IMAGE)).code).toBe(0);
    originalJson = readFileSync(DAEMON_JSON, "utf8");
    demoWasRunning = (await state(DEMO)) === "running";
    await docker("rm", "-f", RUNC_CTR, SYS_CTR);
  }, 5 * MIN);

  afterAll(async () => {
    // Whatever failed above, the machine ends up installed and as it was.
    await docker("rm", "-f", RUNC_CTR, SYS_CTR);
    if (originalJson !== undefined && readFileSync(DAEMON_JSON, "utf8") !== originalJson) writeJson(originalJson);
    if (originalJson !== undefined && (!reinstalled || !(await installed()))) {
      const r = await reinstall();
      if (r.code !== 0) console.error("REINSTALL FAILED: run `bash scripts/install.sh` now");
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20 * MIN);

  test("set-up: a runc container, a system container, the user's own keys in daemon.json", async () => {
    expect((await docker("run", "-d", "--runtime=runc", "--name", RUNC_CTR, IMAGE, "sleep", "infinity")).code).toBe(0);
    const sys = await docker("run", "-d", "--runtime=sysbox-runc", "--name", SYS_CTR, IMAGE, "sleep", "infinity");
    if (sys.code !== 0) console.error(sys.err);
    expect(sys.code).toBe(0);
    expect(await state(SYS_CTR)).toBe("running");

    const cfg = JSON.parse(originalJson!) as Record<string, unknown>;
    userConfig = {
      ...cfg,
      labels: ["sysbox-ts-uninstall-e2e=1"],
      "max-concurrent-uploads": 4,
      runtimes: { ...(cfg.runtimes as object), [EXTRA_RUNTIME]: { path: Bun.which("runc") ?? "/usr/sbin/runc" } },
    };
    writeJson(`${JSON.stringify(userConfig, null, 2)}\n`);
  }, 5 * MIN);

  test("without --remove-containers it refuses, names the system container and the flag, and changes nothing", async () => {
    const json = readFileSync(DAEMON_JSON, "utf8");
    const r = await run(["bash", "scripts/uninstall.sh"]);
    show("bash scripts/uninstall.sh", r);
    expect(r.code).toBe(1);
    expect(r.err).toContain("system container(s) exist (Docker containers with runtime sysbox-runc); nothing was changed:");
    expect(r.err).toMatch(new RegExp(`^  ${SYS_CTR} `, "m"));
    expect(r.err).not.toContain(RUNC_CTR);
    expect(r.err).toContain("sudo bash scripts/uninstall.sh --remove-containers");
    expect(readFileSync(DAEMON_JSON, "utf8")).toBe(json);
    expect(BINARIES.filter((b) => !existsSync(b))).toEqual([]);
    expect(await state(SYS_CTR)).toBe("running");
    expect(await installedDaemons()).toHaveLength(2);
  }, 5 * MIN);

  test("--remove-containers: everything of sysbox-ts is gone; the user's keys and the runc container stay", async () => {
    const r = await run(["bash", "scripts/uninstall.sh", "--remove-containers"]);
    show("bash scripts/uninstall.sh --remove-containers", r);
    expect(r.code).toBe(0);
    expect(r.out).toContain("sysbox-ts is uninstalled");

    // daemon.json: valid JSON, every key of the user's intact, no sysbox-runc.
    const after = JSON.parse(readFileSync(DAEMON_JSON, "utf8")) as Record<string, unknown>;
    const { "sysbox-runc": _gone, ...otherRuntimes } = userConfig.runtimes as Record<string, unknown>;
    const expected: Record<string, unknown> = { ...userConfig, runtimes: otherRuntimes };
    if (expected["default-runtime"] === "sysbox-runc") delete expected["default-runtime"];
    expect(after).toEqual(expected);
    expect(JSON.stringify(after)).not.toContain('"sysbox-runc"');

    // dockerd reloaded: the runtime is gone, the user's one is there.
    const rts = await runtimes();
    expect(rts).not.toContain("sysbox-runc");
    expect(rts).toContain(EXTRA_RUNTIME);

    // No daemon, keeper, mount or binary left.
    expect(await installedDaemons()).toEqual([]);
    expect(keepers()).toEqual([]);
    expect(mountsUnder("/var/lib/sysboxfs")).toEqual([]);
    expect(mountsUnder("/run/sysbox")).toEqual([]);
    expect(BINARIES.filter((b) => existsSync(b))).toEqual([]);

    // The system container is gone, the runc one still runs.
    expect(await state(SYS_CTR)).toBe("absent");
    expect(await state(RUNC_CTR)).toBe("running");
    const left = await run(["bash", "scripts/rm-syscont.sh", "--dry-run"]);
    expect(left.err).toContain("no system containers");
  }, 10 * MIN);

  test("run again, it has nothing to remove", async () => {
    const r = await run(["bash", "scripts/uninstall.sh", "--remove-containers"]);
    show("bash scripts/uninstall.sh --remove-containers (again)", r);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Nothing to remove: sysbox-ts is not installed.");
  }, 5 * MIN);

  test("reinstalled with install.sh, a system container runs again", async () => {
    const r = await reinstall();
    expect(r.code).toBe(0);
    reinstalled = true;
    expect(readFileSync(DAEMON_JSON, "utf8")).toBe(originalJson!);
    expect(await runtimes()).toContain("sysbox-runc");
    expect(await installedDaemons()).toHaveLength(2);
    const hi = await docker("run", "--runtime=sysbox-runc", "--rm", IMAGE, "echo", "hi");
    if (hi.code !== 0) console.error(hi.err);
    expect(hi.code).toBe(0);
    expect(hi.out).toBe("hi\n");
    if (demoWasRunning) expect(await state(DEMO)).toBe("running");
    expect(await state(RUNC_CTR)).toBe("running");
  }, 20 * MIN);
});
