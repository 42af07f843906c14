/**
 * What this kernel really supports of ID-mapped mounts, tried in a scratch
 * directory (scripts/install.sh's host checks run it; needs root):
 *
 *   bun scripts/idmap-probe.ts [--dir DIR]      (default DIR: /var/lib)
 *
 * Prints one line per feature, `NAME ok` or `NAME ERRNO syscall`:
 *   bind           an ID-mapped clone of a directory on DIR's filesystem (5.12+)
 *   overlay-lower  an overlay mount whose lower layer is such a clone: how a
 *                  system container's root filesystem is made (5.19+)
 *   overlay        ID-mapping an overlay mount itself (not used)
 *   tmpfs          ID-mapping a tmpfs mount (6.3+; not used)
 * and exits 0 whatever the kernel said; 2 if the probe itself could not run.
 */
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { idmappedClone } from "../internal/idmap/mod.ts";
import { AT_FDCWD, MNT, O_FLAGS, close, isSysError, mount, moveMount, open, umount2 } from "../internal/sys/mod.ts";

export const FEATURES = ["bind", "overlay-lower", "overlay", "tmpfs"] as const;
export type Feature = (typeof FEATURES)[number];
export type ProbeResult = Record<Feature, string>;

/** A process in a fresh user namespace mapped 0 -> 100000 (65536 ids), and an fd to that namespace. */
async function mappedUserns(): Promise<{ fd: number; close(): Promise<void> }> {
  const p = Bun.spawn(["unshare", "-U", "sleep", "30"], { stdout: "ignore", stderr: "ignore" });
  const self = readlinkSync("/proc/self/ns/user");
  for (let i = 0; readlinkSync(`/proc/${p.pid}/ns/user`) === self; i++) {
    if (i > 400) throw new Error(`unshare -U (pid ${p.pid}) did not enter a new user namespace within 2 s`);
    await Bun.sleep(5);
  }
  writeFileSync(`/proc/${p.pid}/uid_map`, "0 100000 65536\n");
  writeFileSync(`/proc/${p.pid}/gid_map`, "0 100000 65536\n");
  const fd = open(`/proc/${p.pid}/ns/user`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  return {
    fd,
    async close() {
      close(fd);
      p.kill();
      await p.exited;
    },
  };
}

/** Runs `fn`; "ok", or the errno and the failing syscall. */
function attempt(fn: () => void): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (isSysError(e)) return `${e.code} ${e.syscall}`;
    throw e;
  }
}

/** Moves an ID-mapped clone of `src` onto `dst`. */
function mountIdmapped(src: string, dst: string, usernsFd: number): void {
  const fd = idmappedClone(src, usernsFd);
  try {
    moveMount(fd, "", AT_FDCWD, dst);
  } finally {
    close(fd);
  }
}

export async function probe(dir: string): Promise<ProbeResult> {
  const scratch = mkdtempSync(join(dir, ".sysbox-idmap-probe-"));
  const mounted: string[] = [];
  const sub = (name: string) => {
    const p = join(scratch, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const userns = await mappedUserns();
  try {
    const result = {} as ProbeResult;
    result.bind = attempt(() => mountIdmapped(sub("src"), sub("mapped"), userns.fd));
    if (result.bind === "ok") mounted.push(join(scratch, "mapped"));
    result["overlay-lower"] = result.bind === "ok"
      ? attempt(() => {
        mount("overlay", sub("ovl"), "overlay", 0, `lowerdir=${join(scratch, "mapped")},upperdir=${sub("upper")},workdir=${sub("work")}`);
        mounted.push(join(scratch, "ovl"));
      })
      : `skipped (bind: ${result.bind})`;
    result.overlay = attempt(() => {
      mount("overlay", sub("ovl2"), "overlay", 0, `lowerdir=${sub("src")},upperdir=${sub("upper2")},workdir=${sub("work2")}`);
      mounted.push(join(scratch, "ovl2"));
      mountIdmapped(join(scratch, "ovl2"), sub("ovl2-mapped"), userns.fd);
      mounted.push(join(scratch, "ovl2-mapped"));
    });
    result.tmpfs = attempt(() => {
      mount("tmpfs", sub("tmp"), "tmpfs", 0, "size=1m");
      mounted.push(join(scratch, "tmp"));
      mountIdmapped(join(scratch, "tmp"), sub("tmp-mapped"), userns.fd);
      mounted.push(join(scratch, "tmp-mapped"));
    });
    return result;
  } finally {
    for (const m of mounted.reverse()) attempt(() => umount2(m, MNT.DETACH));
    await userns.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--dir");
  const dir = i > 0 ? process.argv[i + 1] ?? "/var/lib" : "/var/lib";
  try {
    const result = await probe(dir);
    for (const f of FEATURES) console.log(`${f} ${result[f]}`);
  } catch (e) {
    console.error(`idmap-probe: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
