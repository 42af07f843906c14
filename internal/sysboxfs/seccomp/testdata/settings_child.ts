/**
 * Probe for settings.root.test.ts, started like child.ts (uid 0 of a new user
 * and mount namespace): `bun settings_child.ts check SOCKFD BASE CONTAINERID N OUT`.
 * Registers with the chown and xattr groups trapped, as the init of a
 * container with SYSBOX_IGNORE_SYSFS_CHOWN and SYSBOX_ALLOW_TRUSTED_XATTR
 * does, and writes to OUT what each call got. The xattr calls run in perl
 * (syscall()), a child that inherits the filter.
 */
import { chownSync, statSync, writeFileSync } from "node:fs";
import { closeQuietly, initialMounts, installNotifyFilter, sendNotifyFd } from "../../../intercept/mod.ts";

const [, sockArg, base, containerId, , out] = process.argv.slice(2);
if (!sockArg || !base || !containerId || !out) throw new TypeError("usage: settings_child.ts check SOCKFD BASE CONTAINERID N OUT");

const NR = process.arch === "arm64" ? { setxattr: 5, getxattr: 8 } : { setxattr: 188, getxattr: 191 };
const own = `${base}/own`;
writeFileSync(own, "x");

function perl(script: string): string {
  const r = Bun.spawnSync(["perl", "-e", script], { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() + r.stderr.toString()).trim();
}
const set = (path: string, name: string) =>
  perl(`($p, $n, $v) = ("${path}", "${name}", "on"); $r = syscall(${NR.setxattr}, $p, $n, $v, 2, 0); print $r < 0 ? $!+0 : $r`);
const get = (path: string, name: string) =>
  perl(`($p, $n, $b) = ("${path}", "${name}", "\\0" x 16); $r = syscall(${NR.getxattr}, $p, $n, $b, 16); print $r < 0 ? "errno ".($!+0) : substr($b, 0, $r)`);
function chown(path: string): string {
  try {
    chownSync(path, 0, 0);
    return "ok";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

const mounts = initialMounts();
const sysOwner = statSync("/sys/class/net").uid;
const fd = installNotifyFilter({ groups: ["chown", "xattr"] });
sendNotifyFd(Number(sockArg), fd, { containerId, mounts });
closeQuietly(fd);
closeQuietly(Number(sockArg));

const results = {
  setTrusted: set(own, "trusted.sysbox"),
  getTrusted: get(own, "trusted.sysbox"),
  setUser: set(own, "user.sysbox"),
  // A host file: its owner is outside this namespace's range.
  setTrustedHostFile: set("/etc/hostname", "trusted.sysbox"),
  chownSys: chown("/sys/class/net"),
  sysOwnerUnchanged: statSync("/sys/class/net").uid === sysOwner,
  chownOwn: chown(own),
};
writeFileSync(out, JSON.stringify({ results }));
