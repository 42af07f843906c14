/**
 * The last steps before the user process runs, in runc's order: rlimits,
 * no_new_privs, seccomp (early when the process keeps CAP_SYS_ADMIN rights to
 * load it, last under no_new_privs), user and groups with capabilities kept
 * across setuid, the capability sets, cwd, and execve with fds >= 3 closed.
 */
import { existsSync, statSync } from "node:fs";
import { posix } from "node:path";
import { chdir, closeRange, setCloexec, umask, CLOSE_RANGE } from "../sys/fs.ts";
import { execve, prlimit, setresgid, setresuid, setgroups, setNoNewPrivs, setKeepCaps, RLIMIT } from "../sys/proc.ts";
import { applyCapabilities } from "../sys/caps.ts";
import { readPasswd, withHome } from "./passwd.ts";
import type { Spec } from "./spec.ts";

export type ProcessSpec = NonNullable<Spec["process"]>;

export interface FinalizeOptions {
  spec: Spec;
  preserveFds: number;
  warn: (msg: string) => void;
  onExecError?: (msg: string) => void;
}

function envValue(env: readonly string[] | undefined, key: string): string | undefined {
  const hit = (env ?? []).findLast((e) => e.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
}

function isExecutableFile(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Resolves args[0] like execvp against the process's PATH, in the container's root. */
export function lookPath(proc: ProcessSpec): string {
  const name = proc.args?.[0];
  if (!name) throw new Error("process.args: must name a program to run");
  if (name.includes("/")) {
    const abs = posix.isAbsolute(name) ? name : posix.join(proc.cwd || "/", name);
    if (!existsSync(abs)) throw new Error(`exec: "${name}": stat ${name}: no such file or directory`);
    if (!isExecutableFile(abs)) throw new Error(`exec: "${name}": permission denied`);
    return abs;
  }
  const path = envValue(proc.env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const dir of path.split(":")) {
    const candidate = posix.join(dir || ".", name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(`exec: "${name}": executable file not found in $PATH`);
}

function applyRlimits(proc: ProcessSpec): void {
  for (const r of proc.rlimits ?? []) {
    const res = RLIMIT[r.type as keyof typeof RLIMIT];
    if (res === undefined) throw new Error(`process.rlimits: unknown type "${r.type}"`);
    prlimit(0, res, { soft: BigInt(r.soft), hard: BigInt(r.hard) });
  }
}

function loadSeccomp(spec: Spec): void {
  const profile = spec.linux?.seccomp;
  if (!profile) return;
  const { loadOciSeccomp } = require("../seccomp/mod.ts") as typeof import("../seccomp/mod.ts");
  loadOciSeccomp(profile);
}

export function finalizeProcess(proc: ProcessSpec, path: string, opts: FinalizeOptions): never {
  try {
    applyRlimits(proc);
    if (proc.noNewPrivileges) setNoNewPrivs();
    else loadSeccomp(opts.spec);
    const uid = proc.user?.uid ?? 0;
    // The container's /etc/passwd, read while we are still root in it.
    const env = withHome(proc.env ?? [], uid, readPasswd);
    const gid = proc.user?.gid ?? 0;
    setKeepCaps(true);
    setgroups(proc.user?.additionalGids ?? []);
    setresgid(gid, gid, gid);
    setresuid(uid, uid, uid);
    setKeepCaps(false);
    const caps = proc.capabilities ?? {};
    const dropped = applyCapabilities({
      bounding: caps.bounding ?? [], effective: caps.effective ?? [], permitted: caps.permitted ?? [],
      inheritable: caps.inheritable ?? [], ambient: caps.ambient ?? [],
    });
    if (dropped.length) opts.warn(`capabilities not in the host's bounding set were dropped: ${dropped.join(", ")}`);
    if (proc.user?.umask !== undefined) umask(proc.user.umask);
    chdir(proc.cwd || "/");
    if (proc.noNewPrivileges) loadSeccomp(opts.spec);
    // Everything but stdio and preserved fds is closed by the exec.
    closeRange(3, 0xffffffff, CLOSE_RANGE.CLOEXEC);
    for (let i = 0; i < opts.preserveFds; i++) setCloexec(3 + i, false);
    execve(path, proc.args ?? [], env);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    opts.onExecError?.(msg);
    process.stderr.write(`sysbox-runc: ${msg}\n`);
  }
  process.exit(127);
}
