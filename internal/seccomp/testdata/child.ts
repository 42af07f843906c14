/**
 * Root-test probe: `bun child.ts PROFILE.json WORKDIR`. Runs each probe,
 * loads the OCI seccomp section in PROFILE.json into this process, runs the
 * probes again and prints `{before, after, load}` as JSON. Each probe result
 * is "ok" or an errno name. Runs in its own process because a loaded filter
 * can never be removed.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { validate, LinuxSeccompSchema } from "../../oci/mod.ts";
import { isSysError } from "../../sys/errno.ts";
import { rawSyscall } from "../../sys/libc.ts";
import { libseccomp, NR_SCMP_ERROR } from "../../sys/seccomp.ts";
import { loadOciSeccomp } from "../mod.ts";

const [profilePath, workdir] = process.argv.slice(2);
if (!profilePath || !workdir) throw new TypeError("usage: child.ts PROFILE.json WORKDIR");

const AT_FDCWD = -100;
const ADDR_NO_RANDOMIZE = 0x0040000;
const PER_QUERY = 0xffff_ffff;

function sys(name: string, ...args: Array<number | bigint>): string {
  const nr = libseccomp.syscallResolveName(name);
  if (nr < 0) return nr === NR_SCMP_ERROR ? "unknown" : "not-native";
  try {
    rawSyscall(name, nr, args);
    return "ok";
  } catch (e) {
    if (isSysError(e)) return e.code;
    throw e;
  }
}

function fsCall(fn: () => void): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    throw e;
  }
}

let n = 0;
function probes(): Record<string, string> {
  const dir = join(workdir!, `d${n++}`);
  const r: Record<string, string> = {};
  r.fs_mkdir = fsCall(() => mkdirSync(dir));
  if (r.fs_mkdir === "ok") rmdirSync(dir);
  // A NULL path: EFAULT when the call reaches the kernel, so nothing is created.
  r.mkdir = sys("mkdir", 0, 0o755);
  r.mkdirat = sys("mkdirat", AT_FDCWD, 0, 0o755);
  r.fs_write_read = fsCall(() => {
    writeFileSync(join(workdir!, "f"), "x");
    if (readFileSync(join(workdir!, "f"), "utf8") !== "x") throw new Error("read back differs");
  });
  r.getpid = Number(rawSyscall("getpid", libseccomp.syscallResolveName("getpid"), [])) === process.pid ? "ok" : "wrong pid";
  r.unshare = sys("unshare", 0);
  // Invalid flags: EINVAL if the call gets through, so nothing is (un)loaded.
  r.kexec_load = sys("kexec_load", 0, 0, 0, 0x0f00);
  r.open_by_handle_at = sys("open_by_handle_at", -1, 0, 0);
  r.clone3 = sys("clone3", 0, 0);
  r.mount = sys("mount", 0, 0, 0, 0, 0);
  r.personality_query = sys("personality", PER_QUERY);
  r.personality_set = sys("personality", ADDR_NO_RANDOMIZE);
  if (r.personality_set === "ok") sys("personality", 0);
  return r;
}

const before = probes();
const section = validate(LinuxSeccompSchema, JSON.parse(readFileSync(profilePath, "utf8")), { source: profilePath });
const load = loadOciSeccomp(section);
const after = probes();
process.stdout.write(`${JSON.stringify({ before, after, load })}\n`);
