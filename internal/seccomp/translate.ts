/**
 * Turns an OCI `linux.seccomp` section into a plan: plain data naming the
 * architectures, filter attributes and rules libseccomp must be given. The
 * rules follow runc (libcontainer/seccomp): one rule per syscall name, rules
 * whose action equals the default action dropped, ERRNO and TRACE without
 * `errnoRet` returning EPERM, and conditions on the same argument split into
 * separate rules. Name resolution happens at load time (see load.ts).
 */
import {
  ConfigError,
  type LinuxSeccomp,
  type LinuxSeccompArg,
  type SeccompAction,
  type SeccompArch,
  type SeccompFlag,
  type SeccompOperator,
} from "../oci/mod.ts";
import { SCMP_ACT, SCMP_ARCH, SCMP_CMP, SCMP_FLTATR } from "../sys/seccomp.ts";

const EPERM = 1;

export interface PlanArg {
  index: number;
  op: number;
  /** The value to compare with, or the mask for MASKED_EQ. */
  datumA: bigint;
  /** The masked value for MASKED_EQ; unused otherwise. */
  datumB: bigint;
}

export interface PlanRule {
  syscall: string;
  action: number;
  /** All must hold (logical AND) for the rule to match. */
  args: PlanArg[];
}

export interface PlanAttr {
  /** SCMP_FLTATR_* value and name. */
  attr: number;
  name: string;
  value: number;
  /** Set it if the library and kernel support it, skip it otherwise. */
  optional: boolean;
}

export interface SeccompPlan {
  defaultAction: number;
  /** Architectures besides the native one (which every filter has). */
  architectures: { oci: SeccompArch; token: number }[];
  attrs: PlanAttr[];
  rules: PlanRule[];
  /** Some rule uses SCMP_ACT_NOTIFY: the loader hands back a notify fd. */
  usesNotify: boolean;
  listenerPath?: string;
  listenerMetadata?: string;
}

export interface TranslateOptions {
  /** Names the document in errors; default "config.json". */
  source?: string;
}

/** OCI operator -> SCMP_CMP value. */
export const OPERATORS: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: SCMP_CMP.NE,
  SCMP_CMP_LT: SCMP_CMP.LT,
  SCMP_CMP_LE: SCMP_CMP.LE,
  SCMP_CMP_EQ: SCMP_CMP.EQ,
  SCMP_CMP_GE: SCMP_CMP.GE,
  SCMP_CMP_GT: SCMP_CMP.GT,
  SCMP_CMP_MASKED_EQ: SCMP_CMP.MASKED_EQ,
};

/** OCI flag -> filter attribute; TSYNC has none (runc ignores it too). */
const FLAG_ATTRS: Record<SeccompFlag, { attr: number; name: string } | null> = {
  SECCOMP_FILTER_FLAG_TSYNC: null,
  SECCOMP_FILTER_FLAG_LOG: { attr: SCMP_FLTATR.CTL_LOG, name: "SCMP_FLTATR_CTL_LOG" },
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: { attr: SCMP_FLTATR.CTL_SSB, name: "SCMP_FLTATR_CTL_SSB" },
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: { attr: SCMP_FLTATR.CTL_WAITKILL, name: "SCMP_FLTATR_CTL_WAITKILL" },
};

/** Above this many rules, ask for libseccomp's binary-tree layout (as runc does). */
const OPTIMIZE_ABOVE = 32;

const TAKES_ERRNO: ReadonlySet<SeccompAction> = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);

class Where {
  constructor(readonly source: string) {}
  fail(path: string, detail: string): never {
    throw new ConfigError(this.source, [{ path, detail }]);
  }
}

/**
 * The SCMP_ACT value for an OCI action. `errnoRet` is only valid with ERRNO
 * and TRACE (config-linux.md: otherwise the runtime MUST fail).
 */
export function actionValue(action: SeccompAction, errnoRet?: number): number {
  if (errnoRet !== undefined && !TAKES_ERRNO.has(action)) {
    throw new RangeError(`errnoRet is not valid with ${action}`);
  }
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SCMP_ACT.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SCMP_ACT.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SCMP_ACT.TRAP;
    case "SCMP_ACT_ERRNO":
      return SCMP_ACT.ERRNO(errnoRet ?? EPERM);
    case "SCMP_ACT_TRACE":
      return SCMP_ACT.TRACE(errnoRet ?? EPERM);
    case "SCMP_ACT_ALLOW":
      return SCMP_ACT.ALLOW;
    case "SCMP_ACT_LOG":
      return SCMP_ACT.LOG;
    case "SCMP_ACT_NOTIFY":
      return SCMP_ACT.NOTIFY;
  }
}

function checkedAction(where: Where, path: string, action: SeccompAction, errnoRet: number | undefined): number {
  if (errnoRet !== undefined && !TAKES_ERRNO.has(action)) {
    where.fail(path, `errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`);
  }
  if (errnoRet !== undefined && errnoRet > 0xffff) where.fail(path, `errnoRet must fit in 16 bits, got ${errnoRet}`);
  return actionValue(action, errnoRet);
}

function planArg(a: LinuxSeccompArg): PlanArg {
  return { index: a.index, op: OPERATORS[a.op], datumA: BigInt(a.value), datumB: BigInt(a.valueTwo ?? 0) };
}

/**
 * libseccomp cannot AND two conditions on one argument; runc then adds one
 * rule per condition (an OR), and so do we.
 */
function argGroups(args: readonly PlanArg[]): PlanArg[][] {
  if (args.length === 0) return [[]];
  const indexes = new Set(args.map((a) => a.index));
  return indexes.size === args.length ? [[...args]] : args.map((a) => [a]);
}

/** Builds the plan; throws `ConfigError` naming the offending field. */
export function translateSeccomp(section: LinuxSeccomp, options: TranslateOptions = {}): SeccompPlan {
  const where = new Where(options.source ?? "config.json");
  const base = "linux.seccomp";

  const defaultAction = checkedAction(where, `${base}.defaultErrnoRet`, section.defaultAction, section.defaultErrnoRet);
  // runc: a notify default would also trap the write() that hands the fd over.
  if (section.defaultAction === "SCMP_ACT_NOTIFY") {
    where.fail(`${base}.defaultAction`, "SCMP_ACT_NOTIFY cannot be the default action");
  }

  const architectures = (section.architectures ?? []).map((oci) => ({ oci, token: SCMP_ARCH[oci].token }));

  const rules: PlanRule[] = [];
  let usesNotify = false;
  (section.syscalls ?? []).forEach((call, i) => {
    const path = `${base}.syscalls[${i}]`;
    const action = checkedAction(where, `${path}.errnoRet`, call.action, call.errnoRet);
    const groups = argGroups((call.args ?? []).map(planArg));
    call.names.forEach((name, j) => {
      if (name === "") where.fail(`${path}.names[${j}]`, "empty syscall name");
      if (call.action === "SCMP_ACT_NOTIFY") {
        if (name === "write") where.fail(`${path}.names[${j}]`, "SCMP_ACT_NOTIFY cannot be used for write");
        usesNotify = true;
      }
      // libseccomp refuses (EACCES) a rule whose action is the default one.
      if (action === defaultAction) return;
      for (const args of groups) rules.push({ syscall: name, action, args });
    });
  });

  const attrs: PlanAttr[] = [];
  if (section.flags === undefined) {
    // runc: with no flags given (not even []), disable the speculative store
    // bypass mitigation seccomp would otherwise force on, where supported.
    attrs.push({ attr: SCMP_FLTATR.CTL_SSB, name: "SCMP_FLTATR_CTL_SSB", value: 1, optional: true });
  } else {
    for (const flag of section.flags) {
      const a = FLAG_ATTRS[flag];
      if (a && !attrs.some((x) => x.attr === a.attr)) attrs.push({ ...a, value: 1, optional: false });
    }
  }
  if (rules.length > OPTIMIZE_ABOVE) {
    attrs.push({ attr: SCMP_FLTATR.CTL_OPTIMIZE, name: "SCMP_FLTATR_CTL_OPTIMIZE", value: 2, optional: true });
  }
  // The runtime sets no_new_privs itself when process.noNewPrivileges asks for it.
  attrs.push({ attr: SCMP_FLTATR.CTL_NNP, name: "SCMP_FLTATR_CTL_NNP", value: 0, optional: false });
  // Report the kernel's own errno from seccomp_load instead of ECANCELED.
  attrs.push({ attr: SCMP_FLTATR.API_SYSRAWRC, name: "SCMP_FLTATR_API_SYSRAWRC", value: 1, optional: true });

  const plan: SeccompPlan = { defaultAction, architectures, attrs, rules, usesNotify };
  if (section.listenerPath) plan.listenerPath = section.listenerPath;
  if (section.listenerMetadata) plan.listenerMetadata = section.listenerMetadata;
  return plan;
}
