/**
 * End to end, through the real dockerd: the per-container settings (issue
 * "Devices, device nodes, sysinfo, and per-container settings"), Sysbox's
 * SYSBOX_* variables given with `docker run -e`. Needs root, dockerd with the
 * sysbox-runc runtime and its daemons, and the local debian image (it has
 * coreutils and perl, whose syscall() stands in for setfattr).
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerNames, docker, hasSysboxDocker, ok } from "./fixtures/docker.ts";

const IMAGE = "sysbox-test/debian:bookworm";
const RT = "--runtime=sysbox-runc";

const hasDocker = hasSysboxDocker;
const name = containerNames();

const capEff = (status: string) => BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(status)![1]}`);
const has = (caps: bigint, bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;
const CAP_CHOWN = 0;
const CAP_NET_RAW = 13;
const CAP_SYS_ADMIN = 21;

/** perl's syscall(): setxattr and getxattr by number (x86_64, arm64), printing the result and errno. */
const NR = process.arch === "arm64" ? { setxattr: 5, getxattr: 8 } : { setxattr: 188, getxattr: 191 };
const XATTR_SCRIPT = [
  "touch /tmp/f",
  // syscall() wants its string arguments in variables.
  `perl -e '($p, $n, $v) = ("/tmp/f", "trusted.sysbox", "on"); $r = syscall(${NR.setxattr}, $p, $n, $v, 2, 0); print "set $r ", ($r < 0 ? $!+0 : 0), "\\n"'`,
  `perl -e '($p, $n, $b) = ("/tmp/f", "trusted.sysbox", "\\0" x 16); $r = syscall(${NR.getxattr}, $p, $n, $b, 16); print "get $r ", substr($b, 0, $r > 0 ? $r : 0), "\\n"'`,
].join("; ");

/** The runtime's state dir of a Docker container (containerd's shim names it by the full id). */
function runtimeStateDir(id: string): string {
  return `/run/docker/runtime-sysbox-runc/moby/${id}`;
}

describe.skipIf(!hasDocker)("per-container settings [requires root, dockerd with sysbox-runc]", () => {
  test("an unknown SYSBOX_* variable fails docker run with a message naming it, and leaves no container state", () => {
    const n = name("set-unknown");
    const r = docker(["run", RT, "--name", n, "-e", "SYSBOX_NO_SUCH_THING=1", IMAGE, "true"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("SYSBOX_NO_SUCH_THING: unknown per-container setting");
    const id = ok(["inspect", "-f", "{{.Id}}", n]).trim();
    expect(existsSync(runtimeStateDir(id))).toBe(false);
  });

  test.each([
    ["SYSBOX_HONOR_CAPS=yes", "SYSBOX_HONOR_CAPS=yes: invalid value; expected TRUE or FALSE"],
    ["SYSBOX_SYSCONT_MODE=false", "SYSBOX_SYSCONT_MODE=false: invalid value; expected TRUE or FALSE"],
    ["SYSBOX_SKIP_UID_SHIFT=/nope", "SYSBOX_SKIP_UID_SHIFT: /nope is not the target of a bind mount of this container"],
    ["SYSBOX_SKIP_UID_SHIFT=data", "SYSBOX_SKIP_UID_SHIFT: \"data\" is not an absolute path"],
  ])("a bad value fails docker run naming it: -e %s", (env, message) => {
    const r = docker(["run", RT, "--rm", "-e", env, IMAGE, "true"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(message);
  });

  test("SYSBOX_HONOR_CAPS=TRUE: --cap-drop holds (CapEff lacks CHOWN and NET_RAW, chown fails); without it root has them all", () => {
    const honored = docker(["run", RT, "--rm", "-e", "SYSBOX_HONOR_CAPS=TRUE", "--cap-drop", "chown", "--cap-drop", "net_raw", IMAGE,
      "sh", "-c", "grep CapEff /proc/self/status; chown 1 /tmp && echo chowned || echo refused"]);
    expect(honored.code).toBe(0);
    const caps = capEff(honored.out);
    expect([has(caps, CAP_CHOWN), has(caps, CAP_NET_RAW), has(caps, CAP_SYS_ADMIN)]).toEqual([false, false, false]);
    expect(honored.out).toContain("refused");
    const all = capEff(ok(["run", RT, "--rm", "--cap-drop", "net_raw", IMAGE, "grep", "CapEff", "/proc/self/status"]));
    expect([has(all, CAP_CHOWN), has(all, CAP_NET_RAW), has(all, CAP_SYS_ADMIN)]).toEqual([true, true, true]);
  });

  test("SYSBOX_HONOR_CAPS=TRUE on docker exec applies to that process only", () => {
    const n = name("set-exec");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "300"]);
    const honored = capEff(ok(["exec", "-e", "SYSBOX_HONOR_CAPS=TRUE", n, "grep", "CapEff", "/proc/self/status"]));
    const plain = capEff(ok(["exec", n, "grep", "CapEff", "/proc/self/status"]));
    expect([has(honored, CAP_SYS_ADMIN), has(plain, CAP_SYS_ADMIN)]).toEqual([false, true]);
    // A per-container variable on exec changes nothing, and an unknown one fails the exec.
    expect(docker(["exec", "-e", "SYSBOX_NO_SUCH_THING=1", n, "true"]).code).not.toBe(0);
  });

  test("SYSBOX_SYSCONT_MODE=FALSE: its own user namespace and range, but no sysbox-fs mounts and the kernel's /proc/uptime", () => {
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const out = ok(["run", RT, "--rm", "-e", "SYSBOX_SYSCONT_MODE=FALSE", IMAGE, "sh", "-c",
      "cat /proc/self/uid_map; echo sysboxfs=$(grep -c sysboxfs /proc/self/mountinfo); cut -d' ' -f1 /proc/uptime"]);
    const [map, fsLine, uptime] = out.trim().split("\n");
    const [inside, host, size] = map!.trim().split(/\s+/).map(Number);
    expect([inside, size]).toEqual([0, 65536]);
    expect(host).toBeGreaterThan(0);
    expect(fsLine).toBe("sysboxfs=0");
    // The host's uptime, which only grows; a system container's starts at 0.
    expect(Number(uptime)).toBeGreaterThanOrEqual(hostUptime);
    const syscont = ok(["run", RT, "--rm", IMAGE, "sh", "-c", "echo sysboxfs=$(grep -c sysboxfs /proc/self/mountinfo)"]);
    expect(syscont.trim()).not.toBe("sysboxfs=0");
  });

  test("SYSBOX_SKIP_UID_SHIFT=/data: that bind mount is not ID-mapped (host root shows as nobody), another one still is", () => {
    const dir = mkdtempSync("/var/tmp/sysbox-skip-");
    const other = mkdtempSync("/var/tmp/sysbox-noskip-");
    try {
      writeFileSync(join(dir, "f"), "x");
      writeFileSync(join(other, "f"), "x");
      for (const p of [dir, other, join(dir, "f"), join(other, "f")]) chownSync(p, 0, 0);
      // Readable by anyone: the unmapped dir's owner is nobody inside.
      for (const d of [dir, other]) chmodSync(d, 0o755);
      const out = ok(["run", RT, "--rm", "-e", "SYSBOX_SKIP_UID_SHIFT=/data", "-v", `${dir}:/data`, "-v", `${other}:/other`, IMAGE,
        "stat", "-c", "%n %u", "/data/f", "/other/f"]);
      expect(out).toBe("/data/f 65534\n/other/f 0\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("SYSBOX_IGNORE_SYSFS_CHOWN=TRUE: chown of /sys paths exits 0 (and changes nothing); without it, it fails", () => {
    const set = docker(["run", RT, "--rm", "-e", "SYSBOX_IGNORE_SYSFS_CHOWN=TRUE", IMAGE, "sh", "-c",
      "a=$(stat -c %u:%g /sys/class/net); chown root /sys/class/net && chown -h 1:1 /sys && chown 1:1 /sys/class/net && " +
      "[ \"$(stat -c %u:%g /sys/class/net)\" = \"$a\" ] && echo unchanged; chown 1 /tmp && stat -c %u /tmp"]);
    expect(set.err).toBe("");
    expect(set.code).toBe(0);
    // /sys keeps its owner; a chown elsewhere still works.
    expect(set.out).toBe("unchanged\n1\n");
    const unset = docker(["run", RT, "--rm", IMAGE, "chown", "root", "/sys/class/net"]);
    expect(unset.code).not.toBe(0);
  });

  test("SYSBOX_ALLOW_TRUSTED_XATTR=TRUE: a trusted.* xattr can be set and read back inside; without it, EPERM", () => {
    const set = ok(["run", RT, "--rm", "-e", "SYSBOX_ALLOW_TRUSTED_XATTR=TRUE", IMAGE, "sh", "-c", XATTR_SCRIPT]);
    expect(set).toBe("set 0 0\nget 2 on\n");
    const unset = ok(["run", RT, "--rm", IMAGE, "sh", "-c", XATTR_SCRIPT]);
    expect(unset).toContain("set -1 1\n");
  });
});
