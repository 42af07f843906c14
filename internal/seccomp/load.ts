/**
 * Applies a seccomp plan through libseccomp. Seccomp filters are permanent:
 * once loaded, a filter binds the calling thread (and, across execve, the
 * program it runs) for good.
 *
 * Loading needs CAP_SYS_ADMIN in the caller's user namespace or
 * no_new_privs already set (seccomp(2)). The plan never asks libseccomp to
 * set no_new_privs: the runtime does that itself for
 * `process.noNewPrivileges`, and then loads the filter as late as possible;
 * without it, the filter goes in while the process still holds its
 * capabilities, so the profile must allow the setgroups/setresuid/capset/
 * prctl/chdir calls made between load and execve (Docker's profile does).
 *
 * Only the calling thread gets the filter (no SCMP_FLTATR_CTL_TSYNC): call
 * this on the thread that will execve the container process. In a Bun
 * process that is the JavaScript thread; Bun's helper threads stay
 * unfiltered and disappear at execve.
 */
import { isSysError } from "../sys/errno.ts";
import { libseccomp, NR_SCMP_ERROR, type Libseccomp, type ScmpArgCmp } from "../sys/seccomp.ts";
import type { SeccompPlan } from "./translate.ts";

export interface LoadResult {
  /** The listener fd when the plan uses SCMP_ACT_NOTIFY, else null. */
  notifyFd: number | null;
  /** Syscall names libseccomp does not know, skipped as runc skips them. */
  skipped: string[];
  /** Optional attributes the library or kernel refused. */
  unsupported: string[];
}

export interface LoadOptions {
  /** The libseccomp layer; tests pass a recording fake. */
  sys?: Libseccomp;
}

/**
 * A filter built in libseccomp's memory and not yet loaded. Built early and
 * loaded later, it lets the runtime set limits such as RLIMIT_AS between the
 * two: libseccomp allocates while building, and the limits would refuse it.
 */
export interface BuiltFilter {
  /** Loads the filter into the kernel and frees libseccomp's copy. */
  load(): LoadResult;
  /** Frees libseccomp's copy without loading it. */
  release(): void;
}

/** Builds the filter the plan describes, in libseccomp's memory only. */
export function buildSeccomp(plan: SeccompPlan, options: LoadOptions = {}): BuiltFilter {
  const sys = options.sys ?? libseccomp;
  const skipped = new Set<string>();
  const unsupported: string[] = [];
  const ctx = sys.init(plan.defaultAction);
  try {
    for (const arch of plan.architectures) {
      try {
        sys.archAdd(ctx, arch.token, arch.oci);
      } catch (e) {
        // Already present: the native arch, or listed twice.
        if (!isSysError(e, "EEXIST")) throw e;
      }
    }
    for (const a of plan.attrs) {
      try {
        sys.attrSet(ctx, a.attr, a.value);
      } catch (e) {
        if (!a.optional || !isSysError(e)) throw e;
        unsupported.push(a.name);
      }
    }
    const numbers = new Map<string, number>();
    for (const rule of plan.rules) {
      let nr = numbers.get(rule.syscall);
      if (nr === undefined) {
        nr = sys.syscallResolveName(rule.syscall);
        numbers.set(rule.syscall, nr);
      }
      if (nr === NR_SCMP_ERROR) {
        skipped.add(rule.syscall);
        continue;
      }
      const args: ScmpArgCmp[] = rule.args.map((a) => ({ arg: a.index, op: a.op, datumA: a.datumA, datumB: a.datumB }));
      sys.ruleAdd(ctx, rule.action, nr, args, rule.syscall);
    }
  } catch (e) {
    sys.release(ctx);
    throw e;
  }
  let released = false;
  const release = () => {
    if (!released) sys.release(ctx);
    released = true;
  };
  return {
    load() {
      if (released) throw new TypeError("seccomp filter already loaded or released");
      try {
        sys.load(ctx);
        return { notifyFd: plan.usesNotify ? sys.notifyFd(ctx) : null, skipped: [...skipped], unsupported };
      } finally {
        release();
      }
    },
    release,
  };
}

/** Builds the filter the plan describes and loads it into the kernel. */
export function loadSeccomp(plan: SeccompPlan, options: LoadOptions = {}): LoadResult {
  return buildSeccomp(plan, options).load();
}
