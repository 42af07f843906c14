/**
 * Test helper: changes this thread's identity and prctl state with the
 * syscall layer, reports it, then execs a program that reports it again.
 */
import { readFileSync } from "node:fs";
import { O_FLAGS, open, writeAll } from "../fs.ts";
import { execve, execveat, setName, setNoNewPrivs, setgroups, setns, setresgid, setresuid, unshare } from "../proc.ts";
import { CLONE } from "../flags.ts";

const mode = process.argv[2];
const out = (s: string) => writeAll(1, new TextEncoder().encode(s));

switch (mode) {
  case "identity": {
    setName("sysbox-probe");
    setgroups([5, 6]);
    setresgid(1001, 1001, 1001);
    setresuid(1000, 1000, 1000);
    setNoNewPrivs();
    out(JSON.stringify({ comm: readFileSync("/proc/thread-self/comm", "utf8").trim() }) + "\n");
    execve("/bin/sh", ["sh", "-c", 'grep -E "^(Uid|Gid|Groups|NoNewPrivs):" /proc/self/status; echo "FOO=$FOO"'], ["FOO=bar"]);
    break;
  }
  case "execveat": {
    const fd = open("/bin/echo", O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    execveat(fd, ["echo", "via-execveat"], []);
    break;
  }
  case "mountns": {
    // argv[3]: pid of a process in another mount namespace, with /mnt/marker there.
    const fd = open(`/proc/${process.argv[3]}/ns/mnt`, O_FLAGS.RDONLY);
    // What internal/ns joinMountNamespace does: this thread stops sharing root and cwd first.
    unshare(CLONE.FS);
    setns(fd, CLONE.NEWNS);
    execve("/bin/sh", ["sh", "-c", "test -e /mnt/marker && echo joined"], []);
    break;
  }
  default:
    throw new TypeError(`unknown mode ${mode}`);
}
