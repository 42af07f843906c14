/**
 * Thin bindings to the host's libseccomp (libseccomp.so.2) and the ABI
 * constants of its <seccomp.h>. The library is opened on first use, so
 * programs that never build a filter do not pay for the dlopen. Negative
 * results are -errno and become `SysError`s such as
 * `seccomp_rule_add(clone): EINVAL`. Composing a filter from an OCI profile
 * lives in internal/seccomp.
 */
import { dlopen, read, type Pointer } from "bun:ffi";
import { cstr } from "./cstr.ts";
import { ERRNO, SysError } from "./errno.ts";

/** Actions (SCMP_ACT_*); ERRNO/TRACE carry 16 bits of data. */
export const SCMP_ACT = {
  KILL_PROCESS: 0x8000_0000,
  KILL_THREAD: 0x0000_0000,
  KILL: 0x0000_0000,
  TRAP: 0x0003_0000,
  NOTIFY: 0x7fc0_0000,
  LOG: 0x7ffc_0000,
  ALLOW: 0x7fff_0000,
  ERRNO: (errno: number): number => (0x0005_0000 | (errno & 0xffff)) >>> 0,
  TRACE: (msg: number): number => (0x7ff0_0000 | (msg & 0xffff)) >>> 0,
} as const;

/** Argument comparison operators (enum scmp_compare). */
export const SCMP_CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

/** Filter attributes (enum scmp_filter_attr); WAITKILL needs libseccomp 2.6. */
export const SCMP_FLTATR = {
  ACT_DEFAULT: 1, ACT_BADARCH: 2, CTL_NNP: 3, CTL_TSYNC: 4, API_TSKIP: 5, CTL_LOG: 6, CTL_SSB: 7,
  CTL_OPTIMIZE: 8, API_SYSRAWRC: 9, CTL_WAITKILL: 10,
} as const;

const ATTR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SCMP_FLTATR).map(([name, n]) => [n, `SCMP_FLTATR_${name}`]),
);

/**
 * Architecture tokens (SCMP_ARCH_*, the kernel's AUDIT_ARCH_* values except
 * x32) keyed by their OCI name, with libseccomp's own name for each.
 */
export const SCMP_ARCH = {
  SCMP_ARCH_X86: { name: "x86", token: 0x4000_0003 },
  SCMP_ARCH_X86_64: { name: "x86_64", token: 0xc000_003e },
  SCMP_ARCH_X32: { name: "x32", token: 0x4000_003e },
  SCMP_ARCH_ARM: { name: "arm", token: 0x4000_0028 },
  SCMP_ARCH_AARCH64: { name: "aarch64", token: 0xc000_00b7 },
  SCMP_ARCH_MIPS: { name: "mips", token: 0x0000_0008 },
  SCMP_ARCH_MIPS64: { name: "mips64", token: 0x8000_0008 },
  SCMP_ARCH_MIPS64N32: { name: "mips64n32", token: 0xa000_0008 },
  SCMP_ARCH_MIPSEL: { name: "mipsel", token: 0x4000_0008 },
  SCMP_ARCH_MIPSEL64: { name: "mipsel64", token: 0xc000_0008 },
  SCMP_ARCH_MIPSEL64N32: { name: "mipsel64n32", token: 0xe000_0008 },
  SCMP_ARCH_PPC: { name: "ppc", token: 0x0000_0014 },
  SCMP_ARCH_PPC64: { name: "ppc64", token: 0x8000_0015 },
  SCMP_ARCH_PPC64LE: { name: "ppc64le", token: 0xc000_0015 },
  SCMP_ARCH_S390: { name: "s390", token: 0x0000_0016 },
  SCMP_ARCH_S390X: { name: "s390x", token: 0x8000_0016 },
  SCMP_ARCH_PARISC: { name: "parisc", token: 0x0000_000f },
  SCMP_ARCH_PARISC64: { name: "parisc64", token: 0x8000_000f },
  SCMP_ARCH_RISCV64: { name: "riscv64", token: 0xc000_00f3 },
  SCMP_ARCH_LOONGARCH64: { name: "loongarch64", token: 0xc000_0102 },
  SCMP_ARCH_M68K: { name: "m68k", token: 0x0000_0004 },
  SCMP_ARCH_SH: { name: "sh", token: 0x4000_002a },
  SCMP_ARCH_SHEB: { name: "sheb", token: 0x0000_002a },
} as const;

/** What `seccomp_syscall_resolve_name*` returns for a name it does not know. */
export const NR_SCMP_ERROR = -1;

/** One `struct scmp_arg_cmp`: `arg <op> datumA` (MASKED_EQ: `arg & datumA == datumB`). */
export interface ScmpArgCmp {
  arg: number;
  op: number;
  datumA: bigint;
  datumB: bigint;
}

/** An opaque `scmp_filter_ctx`; release it with `libseccomp.release`. */
export type ScmpFilter = number & { readonly __scmpFilter: unique symbol };

/** libseccomp is not installed (or not loadable) on this host. */
export class LibseccompMissingError extends Error {
  constructor(cause: unknown) {
    super(
      "libseccomp.so.2 could not be loaded on the host; install the libseccomp2 package (Debian/Ubuntu) " +
        "or libseccomp (Fedora/Alpine)",
      { cause },
    );
    this.name = "LibseccompMissingError";
  }
}

const SYMBOLS = {
  seccomp_version: { args: [], returns: "ptr" },
  seccomp_api_get: { args: [], returns: "u32" },
  seccomp_init: { args: ["u32"], returns: "ptr" },
  seccomp_release: { args: ["ptr"], returns: "void" },
  seccomp_arch_add: { args: ["ptr", "u32"], returns: "i32" },
  seccomp_arch_native: { args: [], returns: "u32" },
  seccomp_arch_resolve_name: { args: ["ptr"], returns: "u32" },
  seccomp_syscall_resolve_name: { args: ["ptr"], returns: "i32" },
  seccomp_syscall_resolve_name_arch: { args: ["u32", "ptr"], returns: "i32" },
  seccomp_rule_add_array: { args: ["ptr", "u32", "i32", "u32", "ptr"], returns: "i32" },
  seccomp_attr_set: { args: ["ptr", "i32", "u32"], returns: "i32" },
  seccomp_load: { args: ["ptr"], returns: "i32" },
  seccomp_notify_fd: { args: ["ptr"], returns: "i32" },
} as const;

function openLibrary() {
  try {
    return dlopen("libseccomp.so.2", SYMBOLS);
  } catch (e) {
    throw new LibseccompMissingError(e);
  }
}

let lib: ReturnType<typeof openLibrary> | undefined;

function sym() {
  lib ??= openLibrary();
  return lib.symbols;
}

/**
 * Loads the host's libseccomp now, while the host's filesystem is still the
 * root: the container stages use it after pivot_root or after entering the
 * container's mount namespace, where an image (Alpine, a static binary)
 * need not have it. A missing library is reported when first used.
 */
export function preloadLibseccomp(): void {
  try {
    lib ??= openLibrary();
  } catch {
    // Reported by the first call that needs it.
  }
}

/** Throws for a negative (-errno) libseccomp result. */
function rc(call: string, r: number): number {
  if (r < 0) throw new SysError({ syscall: call, errno: -r });
  return r;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ARG_CMP_SIZE = 24; // unsigned arg; enum op; uint64 datum_a; uint64 datum_b

/** Packs `struct scmp_arg_cmp[]` in host byte order. */
export function encodeArgCmps(args: readonly ScmpArgCmp[]): Uint8Array {
  const buf = new Uint8Array(args.length * ARG_CMP_SIZE);
  const view = new DataView(buf.buffer);
  args.forEach((a, i) => {
    const o = i * ARG_CMP_SIZE;
    view.setUint32(o, a.arg, littleEndian);
    view.setUint32(o + 4, a.op, littleEndian);
    view.setBigUint64(o + 8, BigInt.asUintN(64, a.datumA), littleEndian);
    view.setBigUint64(o + 16, BigInt.asUintN(64, a.datumB), littleEndian);
  });
  return buf;
}

const ptrOf = (ctx: ScmpFilter) => ctx as unknown as Pointer;

/**
 * The libseccomp calls, as a plain object so that code composing filters can
 * take a recording fake instead (`type Libseccomp = typeof libseccomp`).
 */
export const libseccomp = {
  /** True if libseccomp.so.2 can be loaded; opens it if not yet open. */
  available(): boolean {
    try {
      sym();
      return true;
    } catch (e) {
      if (e instanceof LibseccompMissingError) return false;
      throw e;
    }
  },

  version(): { major: number; minor: number; micro: number } {
    const p = sym().seccomp_version() as Pointer | null;
    if (p === null) return { major: 0, minor: 0, micro: 0 };
    return { major: read.u32(p, 0), minor: read.u32(p, 4), micro: read.u32(p, 8) };
  },

  /** The API level (seccomp_api_get(3)): 6+ supports notify together with TSYNC. */
  apiLevel(): number {
    return sym().seccomp_api_get();
  },

  init(defaultAction: number): ScmpFilter {
    const p = sym().seccomp_init(defaultAction >>> 0) as Pointer | null;
    // seccomp_init(3) returns NULL only for an invalid action or no memory.
    if (p === null) throw new SysError({ syscall: "seccomp_init", errno: ERRNO.EINVAL });
    return p as unknown as ScmpFilter;
  },

  release(ctx: ScmpFilter): void {
    sym().seccomp_release(ptrOf(ctx));
  },

  /** Adds an architecture; throws `EEXIST` if the filter already has it. */
  archAdd(ctx: ScmpFilter, arch: number, label = `0x${arch.toString(16)}`): void {
    rc(`seccomp_arch_add(${label})`, sym().seccomp_arch_add(ptrOf(ctx), arch >>> 0));
  },

  archNative(): number {
    return sym().seccomp_arch_native();
  },

  /** The token for libseccomp's arch name ("x86_64"), 0 if unknown. */
  archResolveName(name: string): number {
    return sym().seccomp_arch_resolve_name(cstr(name));
  },

  /**
   * The native syscall number, a negative pseudo number (__PNR_*) for a
   * syscall the native arch lacks, or `NR_SCMP_ERROR` for an unknown name.
   */
  syscallResolveName(name: string): number {
    return sym().seccomp_syscall_resolve_name(cstr(name));
  },

  syscallResolveNameArch(arch: number, name: string): number {
    return sym().seccomp_syscall_resolve_name_arch(arch >>> 0, cstr(name));
  },

  /** seccomp_rule_add_array(3); `name` only labels errors. */
  ruleAdd(ctx: ScmpFilter, action: number, syscall: number, args: readonly ScmpArgCmp[], name = String(syscall)): void {
    const buf = args.length ? encodeArgCmps(args) : null;
    rc(
      `seccomp_rule_add(${name})`,
      sym().seccomp_rule_add_array(ptrOf(ctx), action >>> 0, syscall, args.length, buf),
    );
  },

  attrSet(ctx: ScmpFilter, attr: number, value: number): void {
    rc(`seccomp_attr_set(${ATTR_NAMES[attr] ?? attr})`, sym().seccomp_attr_set(ptrOf(ctx), attr, value >>> 0));
  },

  /** Loads the filter into the kernel for the calling thread (all threads with CTL_TSYNC). */
  load(ctx: ScmpFilter): void {
    rc("seccomp_load", sym().seccomp_load(ptrOf(ctx)));
  },

  /** The notify fd of a loaded filter that uses SCMP_ACT_NOTIFY. */
  notifyFd(ctx: ScmpFilter): number {
    return rc("seccomp_notify_fd", sym().seccomp_notify_fd(ptrOf(ctx)));
  },
};

export type Libseccomp = typeof libseccomp;
