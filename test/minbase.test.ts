/**
 * The compiled executables run on a host without C development files: the
 * built sysbox-runc and a compiled probe of the namespace stage
 * (test/fixtures/nsprobe.ts) run inside a minbase Debian container, which has
 * libc6 but not libc6-dev. The namespace stage compiles its C with TinyCC and
 * -nostdlib, so it must not need libc's headers or link files.
 *
 * The container runs under the default runtime (runc) with every capability
 * but CAP_SYS_RESOURCE (which the host's bounding set may lack, so
 * --privileged is not an option), seccomp and AppArmor off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const IMAGE = "sysbox-test/debian:bookworm";
const RUNC = join(ROOT, "build", "sysbox-runc");

function run(argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const isRoot = process.getuid?.() === 0;
const haveDocker = isRoot && Bun.which("docker") !== null && run(["docker", "info", "--format", "{{.ID}}"]).code === 0;
const haveImage = haveDocker && run(["docker", "image", "inspect", IMAGE]).code === 0;
const haveBuild = existsSync(RUNC);

/** Runs `script` under sh in a throwaway minbase container with `mounts` (host path -> container path, read-only). */
function inMinbase(script: string, mounts: Record<string, string> = {}) {
  const volumes = Object.entries(mounts).flatMap(([host, inside]) => ["-v", `${host}:${inside}:ro`]);
  return run([
    "docker", "run", "--rm", "--network", "none",
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    ...volumes, IMAGE, "sh", "-c", script,
  ]);
}

describe.skipIf(!(haveImage && haveBuild))(
  `compiled binaries in a minbase container [requires root, docker, ${IMAGE} and build/]`,
  () => {
    let dir: string;
    let probe: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "minbase-"));
      probe = join(dir, "nsprobe");
      const b = run([process.execPath, "build", "--compile", join(ROOT, "test/fixtures/nsprobe.ts"), "--outfile", probe]);
      if (b.code !== 0) throw new Error(`building the probe failed:\n${b.out}${b.err}`);
    });

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("the image has no C development files", () => {
      const r = inMinbase(
        "dpkg -s libc6 >/dev/null 2>&1 && echo libc6=yes; " +
          "dpkg -s libc6-dev >/dev/null 2>&1 && echo libc6-dev=yes || echo libc6-dev=no; " +
          "dpkg -l libc6-dev 2>&1 | grep -q '^ii' && echo listed=yes || echo listed=no; " +
          "for f in /usr/include/stdio.h /usr/lib/$(uname -m)-linux-gnu/libc.so /usr/lib/$(uname -m)-linux-gnu/crt1.o; do " +
          '[ -e "$f" ] && echo "present=$f"; done; true',
      );
      expect(r.err).toBe("");
      expect(r.out).toContain("libc6=yes\n");
      expect(r.out).toContain("libc6-dev=no\n");
      expect(r.out).toContain("listed=no\n");
      expect(r.out).not.toContain("present=");
    });

    test("sysbox-runc --version prints runc's layout", () => {
      const r = inMinbase("sysbox-runc --version", { [RUNC]: "/usr/local/bin/sysbox-runc" });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^sysbox-runc version \d+\.\d+\.\d+\S*$/);
      expect(lines[1]).toMatch(/^commit: \S+$/);
      expect(lines[2]).toMatch(/^spec: \d+\.\d+\.\d+$/);
    });

    test("the namespace stage starts a process in all seven namespaces, mapped 0 -> 100000", () => {
      const r = inMinbase("nsprobe", { [probe]: "/usr/local/bin/nsprobe" });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain("pid=1\n");
      expect(r.out).toContain("uid=0\n");
      expect(r.out).toContain("uid_map=0 100000 65536\n");
      // The child's host pid (in the container's pid namespace) is not 1.
      expect(r.out).toMatch(/^child=([2-9]|\d\d+)$/m);
    });
  },
);
