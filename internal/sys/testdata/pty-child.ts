/**
 * Test helper for ptys that need a fresh session or a private devpts:
 * `devpts DIR` (run under `unshare -m`) and `ctty`. Prints JSON.
 */
import { readFileSync, statSync } from "node:fs";
import { O_FLAGS, close, read, writeAll } from "../fs.ts";
import { mount } from "../mount.ts";
import { setsid } from "../proc.ts";
import { openPty, openPtyIn, setControllingTty } from "../pty.ts";

const [mode, dir] = process.argv.slice(2);
const out = (x: unknown) => writeAll(1, new TextEncoder().encode(JSON.stringify(x)));

switch (mode) {
  case "devpts": {
    mount("devpts", dir!, "devpts", 0, "newinstance,ptmxmode=0666,mode=0620");
    const pty = openPtyIn(`${dir}/ptmx`);
    writeAll(pty.master, new TextEncoder().encode("line\n"));
    const buf = new Uint8Array(64);
    const got = new TextDecoder().decode(buf.subarray(0, read(pty.slave, buf)));
    const st = statSync(pty.slavePath);
    const peer = readFileSync(`/proc/self/fdinfo/${pty.slave}`, "utf8");
    out({ slavePath: pty.slavePath, got, isChar: st.isCharacterDevice(), rdev: st.rdev, cloexec: (parseInt(/^flags:\s*(\d+)/m.exec(peer)![1]!, 8) & O_FLAGS.CLOEXEC) !== 0 });
    close(pty.slave);
    close(pty.master);
    break;
  }
  case "ctty": {
    const sid = setsid();
    const pty = openPty();
    setControllingTty(pty.slave);
    const ttyNr = Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[4]);
    out({ sid, pid: process.pid, ttyNr, rdev: statSync(pty.slavePath).rdev });
    break;
  }
  default:
    throw new TypeError(`unknown mode ${mode}`);
}
