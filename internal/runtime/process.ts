/**
 * The last steps before the user process runs, in runc's order: the seccomp
 * profile built (loaded now when the process keeps CAP_SYS_ADMIN rights to
 * load it, last under no_new_privs), rlimits (the address-space and data ones
 * last, right before execve), no_new_privs, user and groups with capabilities kept
 * across setuid, the capability sets, cwd (prepareProcess, which may fail on
 * the spec's values), then execve with fds >= 3 closed (execProcess).
 * The OCI seccomp compiler is required lazily: the init loads this file for
 * every container, and only specs with a seccomp profile need it.
 */
import { statSync } from "node:fs";
import { posix } from "node:path";
import { CLOSE_RANGE } from "../sys/fs.ts";
import { RLIMIT } from "../sys/proc.ts";
import { isSysError } from "../sys/errno.ts";
import type { Sys } from "../sys/linux.ts";
import type { BuiltFilter } from "../seccomp/mod.ts";
import { readPasswd, withHome } from "./passwd.ts";
import { handOverListener, type SeccompAgentHandoff } from "./seccomp_agent.ts";
import type { Spec } from "./spec.ts";

export type ProcessSpec = NonNullable<Spec["process"]>;

export interface FinalizeOptions {
  sys: Sys;
  spec: Spec;
  preserveFds: number;
  warn: (msg: string) => void;
  onExecError?: (msg: string) => void;
  /** Installs the syscall-interception filter and hands its listener to sysbox-fs. */
  intercept?: () => void;
  /** Builds the spec's seccomp profile; libseccomp by default, a fake in tests. */
  buildSeccomp?: (profile: NonNullable<NonNullable<Spec["linux"]>["seccomp"]>) => BuiltFilter;
  /** The OCI seccomp agent (linux.seccomp.listenerPath): gets the profile's listener fd (seccomp_agent.ts). */
  seccompAgent?: SeccompAgentHandoff | null;
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
    try {
      statSync(abs);
    } catch (e) {
      // Go's wording, which Docker turns into exit codes (127 not found, 126 permission denied).
      const code = (e as { code?: string }).code;
      const why = code === "EACCES" ? "permission denied" : code === "ENOTDIR" ? "not a directory" : "no such file or directory";
      throw new Error(`exec: "${name}": stat ${name}: ${why}`);
    }
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

/** A limit set at the last moment, right before execve. */
export interface LateRlimit {
  resource: number;
  limit: { soft: bigint; hard: bigint };
}

/**
 * Limits on the address space and the data segment would starve the init
 * itself (a Bun process maps far more than a Go one; past the limit it
 * crashes), so they are lowered right before execve: the process is
 * unprivileged by then, which may lower limits but not raise a hard one.
 */
const LATE_RLIMITS: ReadonlySet<string> = new Set(["RLIMIT_AS", "RLIMIT_DATA"]);

/** Sets the spec's rlimits but for the late ones, whose hard limit is raised now if it must be; returns those to set later. */
function applyRlimits(sys: Sys, proc: ProcessSpec): LateRlimit[] {
  const late: LateRlimit[] = [];
  for (const r of proc.rlimits ?? []) {
    const resource = RLIMIT[r.type as keyof typeof RLIMIT];
    if (resource === undefined) throw new Error(`process.rlimits: unknown type "${r.type}"`);
    const limit = { soft: BigInt(r.soft), hard: BigInt(r.hard) };
    if (!LATE_RLIMITS.has(r.type)) {
      sys.prlimit(0, resource, limit);
      continue;
    }
    if (limit.soft > limit.hard) throw new Error(`process.rlimits: ${r.type}: soft limit ${r.soft} is above the hard limit ${r.hard}`);
    const now = sys.prlimit(0, resource);
    if (limit.hard > now.hard) sys.prlimit(0, resource, { soft: now.soft, hard: limit.hard });
    late.push({ resource, limit });
  }
  return late;
}

function buildSeccomp(spec: Spec, build: FinalizeOptions["buildSeccomp"]): BuiltFilter | undefined {
  const profile = spec.linux?.seccomp;
  if (!profile) return undefined;
  if (build) return build(profile);
  const { buildOciSeccomp } = require("../seccomp/mod.ts") as typeof import("../seccomp/mod.ts");
  return buildOciSeccomp(profile);
}

/** The filter, whose listener (if any) goes to the seccomp agent as soon as it is loaded. */
function withHandover(built: BuiltFilter, opts: Pick<FinalizeOptions, "sys" | "seccompAgent">): BuiltFilter {
  return {
    load() {
      const r = built.load();
      if (r.notifyFd !== null) handOverListener(r.notifyFd, opts.seccompAgent ?? null, opts.sys);
      return r;
    },
    release: () => built.release(),
  };
}

/** What prepareProcess leaves for execProcess: the environment, and under no_new_privs the profile still to load. */
export interface PreparedProcess {
  env: string[];
  seccomp?: BuiltFilter;
  rlimits: LateRlimit[];
}

/**
 * The steps that may fail on the spec's values, run as root in the container
 * before it reports ready (runc does them before `create` returns, so a bad
 * rlimit, user or cwd fails `create`): rlimits, no_new_privs, early seccomp,
 * user and groups, capabilities, umask and cwd. Returns the env to exec with.
 */
export function prepareProcess(proc: ProcessSpec, opts: Pick<FinalizeOptions, "sys" | "spec" | "warn" | "intercept" | "buildSeccomp" | "seccompAgent">): PreparedProcess {
  // While still root with every capability: the seccomp listener for sysbox-fs.
  opts.intercept?.();
  // The profile is built before the rlimits, as runc builds its filter before
  // its limits bind: libseccomp allocates while building, and RLIMIT_AS or
  // RLIMIT_DATA would refuse it (a Bun process's address space is large).
  const built = buildSeccomp(opts.spec, opts.buildSeccomp);
  const seccomp = built && withHandover(built, opts);
  try {
    if (!proc.noNewPrivileges) seccomp?.load();
    const rlimits = applyRlimits(opts.sys, proc);
    const env = prepareSteps(proc, opts);
    return proc.noNewPrivileges && seccomp ? { env, seccomp, rlimits } : { env, rlimits };
  } catch (e) {
    seccomp?.release();
    throw e;
  }
}

function prepareSteps(proc: ProcessSpec, opts: Pick<FinalizeOptions, "sys" | "warn">): string[] {
  const { sys } = opts;
  if (proc.noNewPrivileges) sys.setNoNewPrivs();
  const uid = proc.user?.uid ?? 0;
  // The container's /etc/passwd, read while we are still root in it.
  const env = withHome(proc.env ?? [], uid, readPasswd);
  const gid = proc.user?.gid ?? 0;
  // runc's order: cwd first as root (a dir only root can enter still works),
  // again as the user only when root was refused (a root-squashed volume).
  const cwd = proc.cwd || "/";
  const chdirLater = !tryChdir(sys, cwd);
  sys.setKeepCaps(true);
  sys.setgroups(proc.user?.additionalGids ?? []);
  sys.setresgid(gid, gid, gid);
  sys.setresuid(uid, uid, uid);
  sys.setKeepCaps(false);
  const caps = proc.capabilities ?? {};
  const dropped = sys.applyCapabilities({
    bounding: caps.bounding ?? [], effective: caps.effective ?? [], permitted: caps.permitted ?? [],
    inheritable: caps.inheritable ?? [], ambient: caps.ambient ?? [],
  });
  if (dropped.length) opts.warn(`capabilities not in the host's bounding set were dropped: ${dropped.join(", ")}`);
  if (proc.user?.umask !== undefined) sys.umask(proc.user.umask);
  if (chdirLater && !tryChdir(sys, cwd)) throw cwdError(cwd, "EACCES");
  return env;
}

/** chdir that returns false on a permission error and throws on any other. */
function tryChdir(sys: Sys, cwd: string): boolean {
  try {
    sys.chdir(cwd);
    return true;
  } catch (e) {
    if (isSysError(e, "EACCES") || isSysError(e, "EPERM")) return false;
    throw cwdError(cwd, isSysError(e) ? e.code : String(e));
  }
}

function cwdError(cwd: string, code: string): Error {
  return new Error(`chdir to cwd (${JSON.stringify(cwd)}) set in config.json failed: ${code}`);
}

/** After prepareProcess: seccomp under no_new_privs, fds >= 3 closed, execve. Never returns. */
export function execProcess(proc: ProcessSpec, path: string, prepared: PreparedProcess, opts: FinalizeOptions): never {
  const { env, seccomp, rlimits } = prepared;
  try {
    seccomp?.load();
    for (const r of rlimits) opts.sys.prlimit(0, r.resource, r.limit);
    // Everything but stdio and preserved fds is closed by the exec.
    opts.sys.closeRange(3, 0xffffffff, CLOSE_RANGE.CLOEXEC);
    for (let i = 0; i < opts.preserveFds; i++) opts.sys.setCloexec(3 + i, false);
    opts.sys.execve(path, proc.args ?? [], env);
  } catch (e) {
    failExec(e, opts);
  }
  process.exit(127);
}

function failExec(e: unknown, opts: FinalizeOptions): never {
  const msg = e instanceof Error ? e.message : String(e);
  opts.onExecError?.(msg);
  process.stderr.write(`sysbox-runc: ${msg}\n`);
  process.exit(127);
}

/** prepareProcess then execProcess, for a process whose errors are reported through onExecError (exec). */
export function finalizeProcess(proc: ProcessSpec, path: string, opts: FinalizeOptions): never {
  let prepared: PreparedProcess;
  try {
    prepared = prepareProcess(proc, opts);
  } catch (e) {
    failExec(e, opts);
  }
  execProcess(proc, path, prepared, opts);
}
