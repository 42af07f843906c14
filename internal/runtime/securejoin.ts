/**
 * Resolves a container path inside the rootfs the way the container would see
 * it: symlinks are followed relative to the rootfs, and `..` never climbs out
 * of it. A mount destination that is a symlink to /etc on the host must land
 * on the rootfs's /etc (CVE-2021-30465 class bugs).
 */
import { lstatSync, readlinkSync } from "node:fs";
import { posix } from "node:path";

const MAX_LINKS = 255;

export function secureJoin(root: string, unsafe: string): string {
  const parts = unsafe.split("/").filter((p) => p !== "" && p !== ".");
  const resolved: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === "..") { resolved.pop(); continue; }
    const candidate = posix.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // A missing component ends resolution: the rest is created later.
    }
    if (!isLink) { resolved.push(part); continue; }
    if (++links > MAX_LINKS) throw new Error(`securejoin ${unsafe}: too many levels of symbolic links`);
    const target = readlinkSync(candidate);
    if (target.startsWith("/")) resolved.length = 0;
    parts.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return posix.join(root, ...resolved);
}
