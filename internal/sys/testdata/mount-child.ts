/**
 * Test helper run under `unshare -m`: performs one mount operation with the
 * syscall layer and prints what it saw as JSON on stdout.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { FSCONFIG, fsconfig, fsmount, fsopen, moveMount, mount, pivotRoot, umount2, close, AT_FDCWD, MS } from "../mod.ts";

const [mode, dir] = process.argv.slice(2);
if (!mode || !dir) throw new TypeError("usage: mount-child.ts tmpfs|fsmount|pivot DIR");

function mounted(path: string): string | undefined {
  const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === path);
  return line?.split(" - ")[1]?.split(" ")[0];
}

function report(x: unknown): void {
  process.stdout.write(JSON.stringify(x));
}

switch (mode) {
  case "tmpfs": {
    mount("tmpfs", dir, "tmpfs", MS.NOSUID | MS.NODEV, "size=1m,mode=0755");
    writeFileSync(`${dir}/hello`, "from the child");
    report({ fstype: mounted(dir), hello: readFileSync(`${dir}/hello`, "utf8") });
    break;
  }
  case "fsmount": {
    const fs = fsopen("tmpfs");
    fsconfig(fs, FSCONFIG.SET_STRING, "size", "1m");
    fsconfig(fs, FSCONFIG.CMD_CREATE);
    const m = fsmount(fs);
    moveMount(m, "", AT_FDCWD, dir);
    close(m);
    close(fs);
    const fstype = mounted(dir);
    umount2(dir);
    report({ fstype, after: mounted(dir) ?? null });
    break;
  }
  case "pivot": {
    // new_root must sit on another mount than "/" or the kernel answers EBUSY first.
    mount("tmpfs", dir, "tmpfs", 0, "size=1m");
    const sub = `${dir}/sub`;
    mkdirSync(sub);
    try {
      pivotRoot(sub, sub);
      report({ ok: true });
    } catch (e) {
      const err = e as { syscall: string; code: string; path: string; message: string };
      report({ syscall: err.syscall, code: err.code, path: err.path, message: err.message });
    }
    break;
  }
  default:
    throw new TypeError(`unknown mode ${mode}`);
}
