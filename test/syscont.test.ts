/**
 * End to end, through the real dockerd: what makes a container a system
 * container (issue "System containers"), Docker inside it, and systemd as its
 * init. Needs root, dockerd with the sysbox-runc runtime, and the local images.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const IMAGE = "sysbox-test/debian:bookworm";
const SYSCONT = "sysbox-test/syscont:bookworm";
const RT = "--runtime=sysbox-runc";

function docker(args: string[], opts: { stdin?: Uint8Array | Blob } = {}) {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe", ...(opts.stdin ? { stdin: opts.stdin } : {}) });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() + (r.signalCode ? ` (killed by ${r.signalCode})` : "") };
}
function ok(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.err}`);
  return r.out;
}

const isRoot = process.getuid?.() === 0;
const hasDocker = isRoot && docker(["info", "--format", "{{json .Runtimes}}"]).out.includes("sysbox-runc");
const names: string[] = [];
function name(prefix: string): string {
  const n = `${prefix}-${process.pid}-${names.length}`;
  names.push(n);
  return n;
}
afterAll(() => {
  if (names.length) docker(["rm", "-f", ...names]);
});

/** Parses "0 231072 65536" from a uid_map. */
function mapping(text: string): number[] {
  return text.trim().split(/\s+/).map(Number);
}

describe.skipIf(!hasDocker)("system containers [requires root, dockerd with sysbox-runc]", () => {
  test("root inside is mapped to an unprivileged host range and has every capability", () => {
    const out = ok(["run", RT, "--rm", IMAGE, "sh", "-c", "cat /proc/self/uid_map; id -u; grep CapEff /proc/self/status"]);
    const [inside, host, size] = mapping(out.split("\n")[0]!);
    expect(inside).toBe(0);
    expect(host).toBeGreaterThan(0);
    expect(size).toBe(65536);
    expect(out).toContain("\n0\n");
    // Every capability the host's bounding set has (it lacks CAP_SYS_RESOURCE here).
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(out)![1]}`);
    expect(capEff & (1n << 21n)).not.toBe(0n); // CAP_SYS_ADMIN
  });

  test("the host sees the container's root as its range base", () => {
    const n = name("sc-ps");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "300"]);
    const base = mapping(ok(["exec", n, "cat", "/proc/self/uid_map"]))[1];
    const pid = ok(["inspect", "-f", "{{.State.Pid}}", n]).trim();
    const uid = Bun.spawnSync(["ps", "-o", "uid=", "-p", pid]).stdout.toString().trim();
    expect(Number(uid)).toBe(base!);
  });

  test("two system containers get different ranges; 20 in parallel get 20 disjoint ranges, all freed by rm -f", async () => {
    const batch = Array.from({ length: 20 }, () => name("sc-par"));
    await Promise.all(batch.map((n) => Bun.spawn(["docker", "run", RT, "-d", "--name", n, IMAGE, "sleep", "300"], { stdout: "ignore", stderr: "inherit" }).exited));
    const bases = batch.map((n) => mapping(ok(["exec", n, "cat", "/proc/self/uid_map"]))[1]!);
    expect(new Set(bases).size).toBe(20);
    const sorted = [...bases].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(65536);
    const ids = batch.map((n) => ok(["inspect", "-f", "{{.Id}}", n]).trim());
    ok(["rm", "-f", ...batch]);
    // sysbox-mgr frees ranges and dirs once Docker has removed the containers.
    const status = () => Bun.spawnSync(["ls", "/var/lib/sysbox/docker"]).stdout.toString();
    let left: string[] = ids;
    for (let i = 0; i < 80 && left.length; i++) {
      await Bun.sleep(500);
      // A register or status request makes sysbox-mgr sweep at once.
      ok(["run", RT, "--rm", IMAGE, "true"]);
      const dirs = status();
      left = ids.filter((id) => dirs.includes(id));
    }
    expect(left).toEqual([]);
  }, 180_000);

  test("sysbox-mgr killed with SIGKILL and restarted: running containers keep their ranges, the next one gets a fresh one", () => {
    const a = name("sc-mgr-a");
    ok(["run", RT, "-d", "--name", a, IMAGE, "sleep", "300"]);
    const baseA = mapping(ok(["exec", a, "cat", "/proc/self/uid_map"]))[1]!;
    const pid = Bun.spawnSync(["cat", "/run/sysbox/sysmgr.pid"]).stdout.toString().trim();
    expect(Number(pid)).toBeGreaterThan(0);
    process.kill(Number(pid), "SIGKILL");
    for (let i = 0; i < 100 && Bun.spawnSync(["kill", "-0", pid]).exitCode === 0; i++) Bun.sleepSync(50);
    const restart = Bun.spawnSync(["bash", "scripts/daemons.sh", "start"], { cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe" });
    expect(restart.exitCode).toBe(0);
    const b = name("sc-mgr-b");
    ok(["run", RT, "-d", "--name", b, IMAGE, "sleep", "300"]);
    const baseB = mapping(ok(["exec", b, "cat", "/proc/self/uid_map"]))[1]!;
    expect(baseB).not.toBe(baseA);
    expect(mapping(ok(["exec", a, "cat", "/proc/self/uid_map"]))[1]).toBe(baseA);
  });

  test("a file created at / is owned by 0 inside and stored as 0 in the upper layer", () => {
    const n = name("sc-upper");
    ok(["run", RT, "--name", n, IMAGE, "sh", "-c", "touch /created && stat -c %u:%g /created"]);
    expect(ok(["logs", n]).trim()).toBe("0:0");
    const upper = ok(["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", n]).trim();
    const st = statSync(join(upper, "created"));
    expect([st.uid, st.gid]).toEqual([0, 0]);
    expect(ok(["diff", n])).toContain("A /created");
  });

  test("a -v host dir is writable by the container's root, and files land owned by root on the host", () => {
    const dir = mkdtempSync("/var/tmp/sysbox-vol-");
    writeFileSync(join(dir, "hello"), "hi\n");
    try {
      const out = ok(["run", RT, "--rm", "-v", `${dir}:/data`, IMAGE, "sh", "-c", "cat /data/hello; stat -c %u /data/hello; echo x > /data/new && stat -c %u /data/new"]);
      expect(out).toBe("hi\n0\n0\n");
      expect(statSync(join(dir, "new")).uid).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--privileged and host namespaces are refused with a clear message", () => {
    const priv = docker(["run", RT, "--rm", "--privileged", IMAGE, "true"]);
    expect(priv.code).not.toBe(0);
    expect(priv.err).toContain("--privileged");
    const pid = docker(["run", RT, "--rm", "--pid=host", IMAGE, "true"]);
    expect(pid.code).not.toBe(0);
    expect(pid.err).toContain("pid namespace");
    const net = docker(["run", RT, "--rm", "--net=host", IMAGE, "true"]);
    expect(net.code).not.toBe(0);
    expect(net.err).toContain("--net=host is not supported");
  });

  test("a runc container keeps running beside system containers", () => {
    const r = name("runc-side");
    ok(["run", "-d", "--name", r, IMAGE, "sleep", "300"]);
    ok(["run", RT, "--rm", IMAGE, "true"]);
    expect(ok(["inspect", "-f", "{{.State.Running}}", r]).trim()).toBe("true");
    expect(ok(["exec", r, "cat", "/proc/self/uid_map"])).toMatch(/^\s+0\s+0\s+4294967295/);
  });

  test("cgroups are delegated: the container's root makes sub-cgroups but cannot raise its limit", () => {
    const n = name("sc-cgroup");
    ok(["run", RT, "-d", "--name", n, "--memory", "256m", IMAGE, "sleep", "300"]);
    const out = ok(["exec", n, "sh", "-c",
      "mkdir /sys/fs/cgroup/memory/inner && echo made && rmdir /sys/fs/cgroup/memory/inner; echo 999999999999 > /sys/fs/cgroup/memory/memory.limit_in_bytes && echo wrote"]);
    expect(out).toContain("made");
    // Whatever it wrote went to its own child cgroup: the limit Docker set is untouched.
    const id = ok(["inspect", "-f", "{{.Id}}", n]).trim();
    const hostLimit = Bun.spawnSync(["cat", `/sys/fs/cgroup/memory/docker/${id}/memory.limit_in_bytes`]).stdout.toString().trim();
    expect(hostLimit).toBe(String(256 * 1024 * 1024));
  });
});

describe.skipIf(!hasDocker)("Docker inside a system container [requires root, dockerd with sysbox-runc]", () => {
  test("inner dockerd: overlay2 on the host-backed store, run, build, OOM inside, nothing of the host's Docker", () => {
    const n = name("dind");
    // No -v: sysbox-mgr provides /var/lib/docker.
    ok(["run", RT, "-d", "--name", n, "--memory", "512m", SYSCONT, "sleep", "infinity"]);
    // Before the inner dockerd starts, nothing of the host's engine is there.
    expect(docker(["exec", n, "test", "-e", "/var/run/docker.sock"]).code).not.toBe(0);
    expect(ok(["exec", n, "ls", "-A", "/var/lib/docker"]).trim()).toBe("");
    ok(["exec", "-d", n, "sh", "-c", "dockerd > /var/log/dockerd.log 2>&1"]);
    let info = "";
    for (let i = 0; i < 60 && !info.includes("Storage Driver"); i++) {
      Bun.sleepSync(500);
      info = docker(["exec", n, "docker", "info"]).out;
    }
    expect(info).toContain("Storage Driver: overlay2");
    const image = Bun.spawnSync(["docker", "save", IMAGE]).stdout;
    expect(docker(["exec", "-i", n, "docker", "load"], { stdin: image }).code).toBe(0);
    expect(ok(["exec", n, "docker", "run", "--rm", IMAGE, "echo", "ok"]).trim()).toBe("ok");
    // The inner runc's own proc and sysfs mounts come with sysbox-fs's files:
    // an inner container's uptime counts from the outer container's start.
    const inner = ok(["exec", n, "docker", "run", "--rm", IMAGE, "sh", "-c", "cat /proc/uptime; cat /proc/self/mountinfo"]).split("\n");
    const outerUp = Number(ok(["exec", n, "cat", "/proc/uptime"]).split(" ")[0]);
    const hostUp = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const innerUp = Number(inner[0]!.split(" ")[0]);
    expect(Math.abs(outerUp - innerUp)).toBeLessThan(30);
    expect(innerUp).toBeLessThan(hostUp - 30);
    const fuseAt = inner.filter((l) => l.includes(" - fuse.sysboxfs ")).map((l) => l.split(" ")[4]);
    expect(fuseAt).toEqual(expect.arrayContaining(["/proc/uptime", "/proc/meminfo", "/proc/sys", "/sys/kernel"]));
    // The inner engine sees only its own containers.
    expect(ok(["exec", n, "docker", "ps", "-aq"]).trim()).toBe("");

    const build = docker(["exec", n, "sh", "-c",
      `mkdir -p /b && printf 'FROM ${IMAGE}\\nRUN echo one > /one\\nRUN cat /one && echo two > /two\\n' > /b/Dockerfile && DOCKER_BUILDKIT=0 docker build -q -t inner-built /b && docker run --rm inner-built cat /two`]);
    expect(build.code).toBe(0);
    expect(build.out.trim().split("\n").at(-1)).toBe("two");

    // An inner container that outgrows the outer limit is OOM-killed; both engines stay up.
    const oom = docker(["exec", n, "docker", "run", "--rm", IMAGE, "sh", "-c", "tail /dev/zero"]);
    expect(oom.code).toBe(137);
    expect(docker(["exec", n, "docker", "info"]).code).toBe(0);
    expect(ok(["inspect", "-f", "{{.State.Running}}", n]).trim()).toBe("true");
  }, 240_000);
});

describe.skipIf(!hasDocker)("proc and sysfs mounted inside [requires root, dockerd with sysbox-runc]", () => {
  test("a new proc or sysfs gets sysbox-fs's files over the kernel's, and unmounts as usual", () => {
    const n = name("procmount");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "infinity"]);
    const script = [
      "mkdir -p /mnt/p /mnt/s",
      "mount -t proc proc /mnt/p",
      "cat /mnt/p/uptime",
      "grep -c ' /mnt/p/[a-z/_]* .* - fuse.sysboxfs ' /proc/self/mountinfo",
      "umount /mnt/p && echo unmounted",
      "grep -c ' /mnt/p' /proc/self/mountinfo || true",
      "mount -t sysfs -o ro sysfs /mnt/s && grep ' /mnt/s/kernel ' /proc/self/mountinfo | cut -d' ' -f6",
      "umount /mnt/s && echo unmounted",
      // In a new pid namespace the procfs is that namespace's, uptime still the container's.
      "unshare -pmf --mount-proc sh -c 'cat /proc/1/comm; cat /proc/uptime'",
    ].join("; ");
    const out = ok(["exec", n, "sh", "-c", script]).trim().split("\n");
    const hostUp = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(Number(out[0]!.split(" ")[0])).toBeLessThan(hostUp - 30);
    expect(Number(out[1])).toBeGreaterThanOrEqual(5);
    expect(out.slice(2, 6)).toEqual(["unmounted", "0", "ro,nosuid,nodev,noexec,relatime", "unmounted"]);
    expect(out[6]).toBe("sh");
    expect(Number(out[7]!.split(" ")[0])).toBeLessThan(hostUp - 30);
  });
});

describe.skipIf(!hasDocker)("systemd as the container's init [requires root, dockerd with sysbox-runc]", () => {
  test("boots to running, runs Docker as a service, and stops cleanly on docker stop", () => {
    const n = name("systemd");
    ok(["run", RT, "-d", "--name", n, SYSCONT]);
    let state = "";
    for (let i = 0; i < 60 && state !== "running" && state !== "degraded"; i++) {
      Bun.sleepSync(500);
      state = docker(["exec", n, "systemctl", "is-system-running"]).out.trim();
    }
    expect(state).toBe("running");
    // Docker as a systemd service, on sysbox-mgr's host-backed /var/lib/docker.
    ok(["exec", n, "systemctl", "start", "docker"]);
    expect(ok(["exec", n, "docker", "info"])).toContain("Storage Driver: overlay2");
    const image = Bun.spawnSync(["docker", "save", IMAGE]).stdout;
    expect(docker(["exec", "-i", n, "docker", "load"], { stdin: image }).code).toBe(0);
    expect(ok(["exec", n, "docker", "run", "--rm", IMAGE, "true"])).toBe("");
    expect(ok(["exec", n, "journalctl", "-b", "--no-pager"])).toContain("Journal started");
    const t0 = performance.now();
    ok(["stop", n]);
    expect(performance.now() - t0).toBeLessThan(10_000);
    // Exited on its own (SIGRTMIN+3 from STOPSIGNAL), not SIGKILLed (137).
    expect(ok(["inspect", "-f", "{{.State.ExitCode}}", n]).trim()).not.toBe("137");
  }, 120_000);
});

describe.skipIf(!hasDocker)("inner images survive commit and restart [requires root, dockerd with sysbox-runc]", () => {
  /** Starts the inner dockerd (a committed image carries the old one's pid files) and waits for it. */
  function startInnerDockerd(n: string): void {
    ok(["exec", n, "rm", "-rf", "/var/run/docker.pid", "/var/run/docker"]);
    ok(["exec", "-d", n, "sh", "-c", "dockerd > /var/log/dockerd.log 2>&1"]);
    for (let i = 0; i < 240 && docker(["exec", n, "docker", "info"]).code !== 0; i++) Bun.sleepSync(500);
    const log = docker(["exec", n, "tail", "-5", "/var/log/dockerd.log"]).out;
    if (docker(["exec", n, "docker", "info"]).code !== 0) throw new Error(`inner dockerd in ${n} did not start: ${log}`);
  }

  test("docker commit of a system container keeps its inner images; stop/start keeps them too", () => {
    const a = name("commit-src");
    const committed = `sysbox-test/committed-${process.pid}`;
    try {
      ok(["run", RT, "-d", "--name", a, SYSCONT, "sleep", "infinity"]);
      startInnerDockerd(a);
      const image = Bun.spawnSync(["docker", "save", IMAGE]).stdout;
      expect(docker(["exec", "-i", a, "docker", "load"], { stdin: image }).code).toBe(0);

      // Stop and start: the inner image is still there, with no load.
      ok(["stop", "-t", "2", a]);
      ok(["start", a]);
      startInnerDockerd(a);
      expect(ok(["exec", a, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"])).toContain(IMAGE);

      ok(["commit", a, committed]);
      const b = name("commit-dst");
      ok(["run", RT, "-d", "--name", b, committed, "sleep", "infinity"]);
      startInnerDockerd(b);
      expect(ok(["exec", b, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"])).toContain(IMAGE);
      expect(ok(["exec", b, "docker", "run", "--rm", IMAGE, "echo", "ok"]).trim()).toBe("ok");
    } finally {
      docker(["rm", "-f", ...names.filter((n) => n.startsWith("commit-"))]);
      docker(["rmi", "-f", committed]);
    }
  }, 300_000);
});

describe.skipIf(!hasDocker)("/proc and /sys virtualized by sysbox-fs [requires root, dockerd with sysbox-runc, sysbox-fs]", () => {
  const hostUptime = () => Number(Bun.spawnSync(["cat", "/proc/uptime"]).stdout.toString().split(" ")[0]);

  test("/proc/uptime counts from the container's start", () => {
    const n = name("fs-uptime");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "300"]);
    const inside = Number(ok(["exec", n, "cat", "/proc/uptime"]).split(" ")[0]);
    expect(inside).toBeLessThan(60);
    expect(hostUptime()).toBeGreaterThan(inside + 60);
  });

  test("sysctl kernel.panic is per container: the host and a second container keep theirs", () => {
    const a = name("fs-sysctl-a");
    const b = name("fs-sysctl-b");
    ok(["run", RT, "-d", "--name", a, IMAGE, "sleep", "300"]);
    ok(["run", RT, "-d", "--name", b, IMAGE, "sleep", "300"]);
    const host = Bun.spawnSync(["cat", "/proc/sys/kernel/panic"]).stdout.toString().trim();
    const before = ok(["exec", b, "cat", "/proc/sys/kernel/panic"]).trim();
    ok(["exec", a, "sh", "-c", "echo 7 > /proc/sys/kernel/panic"]);
    expect(ok(["exec", a, "cat", "/proc/sys/kernel/panic"]).trim()).toBe("7");
    expect(ok(["exec", b, "cat", "/proc/sys/kernel/panic"]).trim()).toBe(before);
    expect(Bun.spawnSync(["cat", "/proc/sys/kernel/panic"]).stdout.toString().trim()).toBe(host);
  });

  test("/proc/meminfo shows the container's memory limit; free and nproc agree with --memory and --cpuset-cpus", () => {
    const out = ok(["run", RT, "--rm", "--memory", "300m", IMAGE, "head", "-1", "/proc/meminfo"]);
    expect(out).toMatch(/^MemTotal:\s+307200 kB/);
    const free = ok(["run", RT, "--rm", "--memory", "512m", "--cpuset-cpus", "0", SYSCONT, "sh", "-c", "free -m | awk '/^Mem:/ {print $2}'; nproc; grep -c ^processor /proc/cpuinfo"]);
    expect(free.trim().split("\n")).toEqual(["512", "1", "1"]);
  });

  test("sysbox-fs killed with SIGKILL and restarted: running containers' files and mounts work again", () => {
    const n = name("fs-restart");
    // The container's own process mounts when told through a host dir, so a
    // mount can be asked for while sysbox-fs is down (docker exec needs it).
    const x = mkdtempSync("/tmp/fs-restart-");
    try {
      const loop = "mkdir -p /mnt/t; while true; do if [ -f /x/go ]; then rm /x/go; " +
        "if mount -t proc proc /mnt/t; then head -c 4 /mnt/t/uptime > /x/up; grep -c fuse.sysboxfs /proc/self/mountinfo > /x/binds; umount /mnt/t; else echo fail > /x/up; fi; " +
        "echo done > /x/done; fi; sleep 0.1; done";
      ok(["run", RT, "-d", "--name", n, "-v", `${x}:/x`, IMAGE, "sh", "-c", loop]);
      ok(["exec", n, "sh", "-c", "echo 5 > /proc/sys/kernel/panic"]);
      const pid = Bun.spawnSync(["cat", "/run/sysbox/sysfs.pid"]).stdout.toString().trim();
      process.kill(Number(pid), "SIGKILL");
      for (let i = 0; i < 100 && Bun.spawnSync(["kill", "-0", pid]).exitCode === 0; i++) Bun.sleepSync(50);
      // Trapped while sysbox-fs is down: the mount waits for it instead of failing.
      writeFileSync(join(x, "go"), "");
      Bun.sleepSync(1000);
      expect(existsSync(join(x, "done"))).toBe(false);
      const restart = Bun.spawnSync(["bash", "scripts/daemons.sh", "start"], { cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe" });
      expect(restart.exitCode).toBe(0);
      for (let i = 0; i < 100 && !existsSync(join(x, "done")); i++) Bun.sleepSync(100);
      expect(readFileSync(join(x, "up"), "utf8")).not.toBe("fail\n");
      expect(Number(readFileSync(join(x, "up"), "utf8"))).toBeLessThan(120);
      expect(Number(readFileSync(join(x, "binds"), "utf8"))).toBeGreaterThan(10);
      let uptime = docker(["exec", n, "cat", "/proc/uptime"]);
      for (let i = 0; i < 20 && uptime.code !== 0; i++) {
        Bun.sleepSync(250);
        uptime = docker(["exec", n, "cat", "/proc/uptime"]);
      }
      expect(uptime.code).toBe(0);
      expect(Number(uptime.out.split(" ")[0])).toBeLessThan(120);
      expect(ok(["exec", n, "cat", "/proc/sys/kernel/panic"]).trim()).toBe("5");
      // The policy holds after the restart too.
      const umount = docker(["exec", n, "umount", "/proc"]);
      expect(umount.code).not.toBe(0);
      expect(umount.err).toContain("busy");
      // A graceful restart (an upgrade) keeps them as well.
      rmSync(join(x, "done"));
      const cwd = `${import.meta.dir}/..`;
      expect(Bun.spawnSync(["bash", "scripts/daemons.sh", "stop"], { cwd, stdout: "pipe", stderr: "pipe" }).exitCode).toBe(0);
      expect(Bun.spawnSync(["bash", "scripts/daemons.sh", "start"], { cwd, stdout: "pipe", stderr: "pipe" }).exitCode).toBe(0);
      writeFileSync(join(x, "go"), "");
      for (let i = 0; i < 100 && !existsSync(join(x, "done")); i++) Bun.sleepSync(100);
      expect(Number(readFileSync(join(x, "up"), "utf8"))).toBeLessThan(180);
    } finally {
      docker(["rm", "-f", n]);
      rmSync(x, { recursive: true, force: true });
    }
  });

});

describe.skipIf(!hasDocker)("docker build with sysbox-runc as Docker's default runtime [requires root, dockerd with sysbox-runc]", () => {
  const DAEMON_JSON = "/etc/docker/daemon.json";

  /**
   * Sets Docker's default runtime and reloads the host's dockerd, keeping the
   * user's other keys. The reload goes through dockerd's pid file
   * (scripts/dockerd.sh reload): a system container's inner dockerd, such as
   * sysbox-demo's, shares the name but must never get the signal.
   */
  function setDefaultRuntime(runtime: string | undefined, original: string): void {
    const want = runtime ?? "runc";
    const cfg = JSON.parse(original) as Record<string, unknown>;
    // dockerd keeps its current default when the key disappears: name runc explicitly first.
    writeFileSync(DAEMON_JSON, JSON.stringify({ ...cfg, "default-runtime": want }, null, 2));
    const reload = Bun.spawnSync(["bash", "scripts/dockerd.sh", "reload"], { cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe" });
    if (reload.exitCode !== 0) throw new Error(`scripts/dockerd.sh reload failed: ${reload.stderr.toString()}`);
    const current = () => ok(["info", "--format", "{{.DefaultRuntime}}"]).trim();
    for (let i = 0; i < 100 && current() !== want; i++) Bun.sleepSync(100);
    if (runtime === undefined) writeFileSync(DAEMON_JSON, original);
    // dockerd reloads asynchronously; one that never switched would run the build under the wrong runtime.
    if (current() !== want) throw new Error(`dockerd's default runtime is still ${current()} 10 s after the reload, not ${want}`);
  }

  test("a RUN step that starts dockerd and loads an image bakes that inner image into the built image", () => {
    const ctx = mkdtempSync("/var/tmp/sysbox-build-");
    const tag = `sysbox-test/prebaked-${process.pid}`;
    const original = readFileSync(DAEMON_JSON, "utf8");
    try {
      writeFileSync(join(ctx, "inner.tar"), Bun.spawnSync(["docker", "save", IMAGE]).stdout);
      writeFileSync(join(ctx, "Dockerfile"), [
        `FROM ${SYSCONT}`,
        "COPY inner.tar /tmp/inner.tar",
        "RUN (dockerd > /var/log/dockerd-build.log 2>&1 &) ; for i in $(seq 1 180); do docker info >/dev/null 2>&1 && break; sleep 1; done; " +
          "docker load -i /tmp/inner.tar || { tail /var/log/dockerd-build.log; exit 1; }; rm /tmp/inner.tar; kill $(cat /var/run/docker.pid); sleep 3; rm -rf /var/run/docker.pid /var/run/docker",
        "",
      ].join("\n"));
      setDefaultRuntime("sysbox-runc", original);
      const build = Bun.spawnSync(["docker", "build", "-t", tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdout: "pipe", stderr: "pipe" });
      setDefaultRuntime(undefined, original);
      if (build.exitCode !== 0) throw new Error(`docker build failed: ${build.stdout.toString().slice(-1500)}${build.stderr.toString()}`);
      expect(build.stdout.toString()).toContain("Loaded image: " + IMAGE);

      const n = name("prebaked");
      ok(["run", RT, "-d", "--name", n, tag, "sleep", "infinity"]);
      ok(["exec", "-d", n, "sh", "-c", "dockerd > /var/log/dockerd.log 2>&1"]);
      for (let i = 0; i < 240 && docker(["exec", n, "docker", "info"]).code !== 0; i++) Bun.sleepSync(500);
      expect(ok(["exec", n, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"])).toContain(IMAGE);
      expect(ok(["exec", n, "docker", "run", "--rm", IMAGE, "echo", "ok"]).trim()).toBe("ok");
    } finally {
      if (readFileSync(DAEMON_JSON, "utf8") !== original) setDefaultRuntime(undefined, original);
      docker(["rm", "-f", ...names.filter((x) => x.startsWith("prebaked"))]);
      docker(["rmi", "-f", tag]);
      rmSync(ctx, { recursive: true, force: true });
    }
  }, 300_000);
});
