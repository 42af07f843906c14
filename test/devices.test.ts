/**
 * End to end through dockerd and the installed runtime: devices passed with
 * --device are owned by the container's root and usable (a FUSE mount
 * inside, a TUN device), nothing else is; mknod of the allow-listed nodes;
 * sysinfo(2) shows the container's figures.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const DEBIAN = "sysbox-test/debian:bookworm";
const SYSCONT = "sysbox-test/syscont:bookworm";
const BUSYBOX = "sysbox-test/static:busybox";
const RT = "--runtime=sysbox-runc";
const TIMEOUT = 120_000;

function docker(args: string[]) {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
const hasDocker = process.getuid?.() === 0 && docker(["info", "--format", "{{json .Runtimes}}"]).out.includes("sysbox-runc");
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
