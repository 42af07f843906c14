/**
 * End to end through dockerd and the installed runtime: devices passed with
 * --device are owned by the container's root and usable (a FUSE mount
 * inside, a TUN device), nothing else is; mknod of the allow-listed nodes;
 * sysinfo(2) shows the container's figures.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker, hasSysboxDocker } from "./fixtures/docker.ts";

const ROOT = join(import.meta.dir, "..");
const DEBIAN = "sysbox-test/debian:bookworm";
const SYSCONT = "sysbox-test/syscont:bookworm";
const BUSYBOX = "sysbox-test/static:busybox";
const RT = "--runtime=sysbox-runc";
const TIMEOUT = 120_000;

const hasDocker = hasSysboxDocker;
const hasImage = (image: string) => hasDocker && docker(["image", "inspect", image]).code === 0;
const hostHas = (path: string) => existsSync(path);

/** `docker run --rm` of `image` with `args` before it and `cmd` after it. */
function run(image: string, args: string[], cmd: string[]) {
  return docker(["run", "--rm", RT, "--network", "none", ...args, image, ...cmd]);
}

describe.skipIf(!(hasImage(DEBIAN) && hostHas("/dev/fuse")))(`--device /dev/fuse [requires root, dockerd with sysbox-runc, ${DEBIAN}, /dev/fuse]`, () => {
  let dir = "";
  let probe = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "devices-"));
    probe = join(dir, "fuseprobe");
    const b = Bun.spawnSync([process.execPath, "build", "--compile", join(ROOT, "test/fixtures/fuseprobe.ts"), "--outfile", probe], { stdout: "pipe", stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`building the FUSE probe failed:\n${b.stdout}${b.stderr}`);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the node is owned by the container's root, and a FUSE file system mounts and reads inside", () => {
    const r = run(DEBIAN, ["--device", "/dev/fuse", "-v", `${probe}:/usr/local/bin/fuseprobe:ro`],
      ["sh", "-c", "ls -ln /dev/fuse | awk '{print \"owner=\" $3 \":\" $4 \" type=\" substr($1,1,1)}'; mkdir -p /mnt/f && fuseprobe /mnt/f"]);
    expect(r.err).toBe("");
    expect(r.out).toContain("owner=0:0 type=c\n");
    expect(r.out).toContain("read=hello from fuse\n");
    expect(r.out).toContain("type=fuse.probe\n");
    expect(r.code).toBe(0);
  }, TIMEOUT);

  test("without --device there is no /dev/fuse and no FUSE mount", () => {
    const r = run(DEBIAN, ["-v", `${probe}:/usr/local/bin/fuseprobe:ro`], ["sh", "-c", "test -e /dev/fuse && echo fuse=present; mkdir -p /mnt/f && fuseprobe /mnt/f"]);
    expect(r.out).not.toContain("fuse=present");
    expect(r.err).toContain("mount: ");
    expect(r.code).toBe(1);
  }, TIMEOUT);
});

describe.skipIf(!(hasImage(SYSCONT) && hostHas("/dev/net/tun")))(`--device /dev/net/tun [requires root, dockerd with sysbox-runc, ${SYSCONT}, /dev/net/tun]`, () => {
  test("ip tuntap add makes a TUN device inside", () => {
    const r = run(SYSCONT, ["--device", "/dev/net/tun"], ["sh", "-c", "ls -ln /dev/net/tun | awk '{print \"owner=\" $3 \":\" $4}'; ip tuntap add mode tun tun0 && ip -o link show tun0"]);
    expect(r.err).toBe("");
    expect(r.out).toContain("owner=0:0\n");
    expect(r.out).toMatch(/^\d+: tun0: /m);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  test("without --device, ip tuntap add fails", () => {
    const r = run(SYSCONT, [], ["ip", "tuntap", "add", "mode", "tun", "tun0"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/No such file or directory|Operation not permitted/);
  }, TIMEOUT);
});

describe.skipIf(!hasImage(DEBIAN))(`bad --device [requires root, dockerd with sysbox-runc, ${DEBIAN}]`, () => {
  test("a device path that does not exist fails the run, naming the path", () => {
    const r = run(DEBIAN, ["--device", "/dev/no-such-device-here"], ["true"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("/dev/no-such-device-here");
  }, TIMEOUT);
});

describe.skipIf(!hasImage(DEBIAN))(`mknod inside [requires root, dockerd with sysbox-runc, ${DEBIAN}]`, () => {
  test("a whiteout and the standard nodes are made and behave as the real devices; a disk is refused with EPERM", () => {
    const script = [
      // overlayfs refuses a whiteout made through it (EPERM, on any host): on a file system that takes one.
      "mount -t tmpfs wt /mnt && mknod /mnt/w c 0 0 && stat -c 'w=%F %t:%T' /mnt/w",
      "mknod /tmp/n c 1 3 && stat -c 'n=%F %t:%T' /tmp/n && echo data > /tmp/n && echo n-read=$(head -c 8 /tmp/n | wc -c)",
      "mknod /tmp/z c 1 5 && echo z-read=$(head -c 4 /tmp/z | od -An -tx1 | tr -d ' ')",
      "cd /tmp && mknod ./u c 1 9 && echo u-read=$(head -c 16 /tmp/u | wc -c)",
      "mknod /tmp/n c 1 3 2>&1 | sed 's/^/again=/'",
      "mknod /tmp/sda b 8 0 2>&1 | sed 's/^/sda=/'; test -e /tmp/sda && echo sda=exists",
      "mknod /tmp/kvm c 10 232 2>&1 | sed 's/^/kvm=/'",
      "mknod /tmp/fuse c 10 229 2>&1 | sed 's/^/fuse=/'",
    ].join("; ");
    const r = run(DEBIAN, [], ["sh", "-c", script]);
    expect(r.out).toContain("w=character special file 0:0\n");
    expect(r.out).toContain("n=character special file 1:3\n");
    expect(r.out).toContain("n-read=0\n");
    expect(r.out).toContain("z-read=00000000\n");
    expect(r.out).toContain("u-read=16\n");
    expect(r.out).toMatch(/^again=.*File exists$/m);
    expect(r.out).toMatch(/^sda=.*Operation not permitted$/m);
    expect(r.out).not.toContain("sda=exists");
    expect(r.out).toMatch(/^kvm=.*Operation not permitted$/m);
    // Not given to this container: nothing to bind.
    expect(r.out).toMatch(/^fuse=.*Operation not permitted$/m);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  test.skipIf(!hostHas("/dev/fuse"))("mknod of fuse works when the container was given /dev/fuse [requires /dev/fuse]", () => {
    const r = run(DEBIAN, ["--device", "/dev/fuse"], ["sh", "-c", "mknod /tmp/fuse c 10 229 && stat -c '%F %t:%T %u:%g' /tmp/fuse"]);
    expect(r.err).toBe("");
    expect(r.out).toBe("character special file a:e5 0:0\n");
  }, TIMEOUT);
});

const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

describe.skipIf(!hasImage(BUSYBOX) || hostUptime < 300)(`sysinfo(2) inside [requires root, dockerd with sysbox-runc, ${BUSYBOX}, host up 5 minutes]`, () => {
  test("busybox free shows the --memory limit as the total, and uptime the container's", () => {
    const r = run(BUSYBOX, ["--memory", "512m"], ["sh", "-c", "busybox free; busybox uptime"]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^Mem:\s+524288\s/m);
    // The container started seconds ago; the host minutes ago.
    expect(r.out).toMatch(/ up 0 min,/);
    expect(r.code).toBe(0);
  }, TIMEOUT);

  test("without a limit, the total is the host's", () => {
    const r = run(BUSYBOX, [], ["busybox", "free"]);
    const total = Number(/^Mem:\s+(\d+)\s/m.exec(r.out)?.[1]);
    const hostKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
    expect(total).toBe(hostKb);
  }, TIMEOUT);
});
