/**
 * The OCI runtime spec's config.json (runtime-spec 1.0.2 as Docker 20.10 and
 * containerd 1.6 write it, plus later additions such as `linux.timeOffsets`),
 * the `process` object `exec --process` reads, and the `LinuxResources`
 * object `update --resources` reads. Unknown fields are kept; known fields
 * must have their spec type. See config.md and config-linux.md of
 * https://github.com/opencontainers/runtime-spec.
 */
import * as v from "valibot";
import { bool, i64, int, obj, oneOf, opt, str, strMap, strs, u16, u32, u64 } from "./_schema.ts";

// ---------------------------------------------------------------- process

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export const UserSchema = obj({
  uid: u32(),
  gid: u32(),
  umask: opt(u32()),
  additionalGids: opt(v.array(u32())),
  username: opt(str()),
});

export const LinuxCapabilitiesSchema = obj({
  bounding: opt(strs()),
  effective: opt(strs()),
  inheritable: opt(strs()),
  permitted: opt(strs()),
  ambient: opt(strs()),
});

export const POSIXRlimitSchema = obj({ type: str(), hard: u64(), soft: u64() });

export const ProcessSchema = obj({
  terminal: opt(bool()),
  consoleSize: opt(obj({ height: u32(), width: u32() })),
  user: UserSchema,
  args: opt(strs()),
  commandLine: opt(str()),
  env: opt(strs()),
  cwd: str(),
  capabilities: opt(LinuxCapabilitiesSchema),
  rlimits: opt(v.array(POSIXRlimitSchema)),
  noNewPrivileges: opt(bool()),
  apparmorProfile: opt(str()),
  oomScoreAdj: opt(int()),
  scheduler: opt(
    obj({
      policy: str(),
      nice: opt(int()),
      priority: opt(int()),
      flags: opt(strs()),
      runtime: opt(u64()),
      deadline: opt(u64()),
      period: opt(u64()),
    }),
  ),
  selinuxLabel: opt(str()),
  ioPriority: opt(obj({ class: str(), priority: int() })),
  execCPUAffinity: opt(obj({ initial: opt(str()), final: opt(str()) })),
});

// ------------------------------------------------------- root, mounts, hooks

export const LinuxIDMappingSchema = obj({ containerID: u32(), hostID: u32(), size: u32() });

export const RootSchema = obj({ path: str(), readonly: opt(bool()) });

export const MountSchema = obj({
  destination: str(),
  type: opt(str()),
  source: opt(str()),
  options: opt(strs()),
  uidMappings: opt(v.array(LinuxIDMappingSchema)),
  gidMappings: opt(v.array(LinuxIDMappingSchema)),
});

export const HookSchema = obj({
  path: str(),
  args: opt(strs()),
  env: opt(strs()),
  // config.md: "If set, timeout MUST be greater than zero."
  timeout: opt(v.pipe(int(), v.minValue(1, (i) => `expected a timeout > 0 seconds, got ${i.received}`))),
});

const hookList = () => opt(v.array(HookSchema));

export const HooksSchema = obj({
  prestart: hookList(),
  createRuntime: hookList(),
  createContainer: hookList(),
  startContainer: hookList(),
  poststart: hookList(),
  poststop: hookList(),
});

// -------------------------------------------------------------- resources

export const LinuxDeviceCgroupSchema = obj({
  allow: bool(),
  type: opt(str()),
  major: opt(i64()),
  minor: opt(i64()),
  access: opt(str()),
});

export const LinuxMemorySchema = obj({
  limit: opt(i64()),
  reservation: opt(i64()),
  swap: opt(i64()),
  kernel: opt(i64()),
  kernelTCP: opt(i64()),
  swappiness: opt(u64()),
  disableOOMKiller: opt(bool()),
  useHierarchy: opt(bool()),
  checkBeforeUpdate: opt(bool()),
});

export const LinuxCPUSchema = obj({
  shares: opt(u64()),
  quota: opt(i64()),
  burst: opt(u64()),
  period: opt(u64()),
  realtimeRuntime: opt(i64()),
  realtimePeriod: opt(u64()),
  cpus: opt(str()),
  mems: opt(str()),
  idle: opt(i64()),
});

const blockIODevice = { major: i64(), minor: i64() };
const throttleList = () => opt(v.array(obj({ ...blockIODevice, rate: u64() })));

export const LinuxBlockIOSchema = obj({
  weight: opt(u16()),
  leafWeight: opt(u16()),
  weightDevice: opt(v.array(obj({ ...blockIODevice, weight: opt(u16()), leafWeight: opt(u16()) }))),
  throttleReadBpsDevice: throttleList(),
  throttleWriteBpsDevice: throttleList(),
  throttleReadIOPSDevice: throttleList(),
  throttleWriteIOPSDevice: throttleList(),
});

export const LinuxResourcesSchema = obj({
  devices: opt(v.array(LinuxDeviceCgroupSchema)),
  memory: opt(LinuxMemorySchema),
  cpu: opt(LinuxCPUSchema),
  pids: opt(obj({ limit: opt(i64()) })),
  blockIO: opt(LinuxBlockIOSchema),
  hugepageLimits: opt(v.array(obj({ pageSize: str(), limit: u64() }))),
  network: opt(obj({ classID: opt(u32()), priorities: opt(v.array(obj({ name: str(), priority: u32() }))) })),
  rdma: opt(v.record(v.string(), obj({ hcaHandles: opt(u32()), hcaObjects: opt(u32()) }))),
  unified: opt(strMap()),
});

// ---------------------------------------------------------------- seccomp

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

export const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
] as const;
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];

/** `SECCOMP_FILTER_FLAG_TSYNC` is not in the spec, but runc accepts (and ignores) it. */
export const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

export const LinuxSeccompArgSchema = obj({
  index: v.pipe(u32(), v.maxValue(5, (i) => `expected a syscall argument index 0..5, got ${i.received}`)),
  value: u64(),
  valueTwo: opt(u64()),
  op: oneOf(SECCOMP_OPERATORS),
});

export const LinuxSyscallSchema = obj({
  names: strs(),
  action: oneOf(SECCOMP_ACTIONS),
  errnoRet: opt(u32()),
  args: opt(v.array(LinuxSeccompArgSchema)),
});

export const LinuxSeccompSchema = obj({
  defaultAction: oneOf(SECCOMP_ACTIONS),
  defaultErrnoRet: opt(u32()),
  architectures: opt(v.array(oneOf(SECCOMP_ARCHES))),
  flags: opt(v.array(oneOf(SECCOMP_FLAGS))),
  listenerPath: opt(str()),
  listenerMetadata: opt(str()),
  syscalls: opt(v.array(LinuxSyscallSchema)),
});

// ------------------------------------------------------------------ linux

export const LinuxNamespaceSchema = obj({ type: oneOf(NAMESPACE_TYPES), path: opt(str()) });

export const LinuxDeviceSchema = obj({
  path: str(),
  type: str(),
  // config-linux.md: major and minor are REQUIRED unless type is "p".
  major: opt(i64()),
  minor: opt(i64()),
  fileMode: opt(u32()),
  uid: opt(u32()),
  gid: opt(u32()),
});

export const LinuxSchema = obj({
  uidMappings: opt(v.array(LinuxIDMappingSchema)),
  gidMappings: opt(v.array(LinuxIDMappingSchema)),
  sysctl: opt(strMap()),
  resources: opt(LinuxResourcesSchema),
  cgroupsPath: opt(str()),
  namespaces: opt(v.array(LinuxNamespaceSchema)),
  devices: opt(v.array(LinuxDeviceSchema)),
  seccomp: opt(LinuxSeccompSchema),
  rootfsPropagation: opt(str()),
  maskedPaths: opt(strs()),
  readonlyPaths: opt(strs()),
  mountLabel: opt(str()),
  intelRdt: opt(
    obj({
      closID: opt(str()),
      schemata: opt(strs()),
      l3CacheSchema: opt(str()),
      memBwSchema: opt(str()),
      enableMonitoring: opt(bool()),
    }),
  ),
  personality: opt(obj({ domain: str(), flags: opt(strs()) })),
  timeOffsets: opt(v.record(v.string(), obj({ secs: opt(i64()), nanosecs: opt(u32()) }))),
});

// ------------------------------------------------------------------- spec

export const SpecSchema = obj({
  ociVersion: str(),
  process: opt(ProcessSchema),
  root: opt(RootSchema),
  hostname: opt(str()),
  domainname: opt(str()),
  mounts: opt(v.array(MountSchema)),
  hooks: opt(HooksSchema),
  annotations: opt(strMap()),
  linux: opt(LinuxSchema),
});

export type Spec = v.InferOutput<typeof SpecSchema>;
export type Process = v.InferOutput<typeof ProcessSchema>;
export type User = v.InferOutput<typeof UserSchema>;
export type LinuxCapabilities = v.InferOutput<typeof LinuxCapabilitiesSchema>;
export type POSIXRlimit = v.InferOutput<typeof POSIXRlimitSchema>;
export type Root = v.InferOutput<typeof RootSchema>;
export type Mount = v.InferOutput<typeof MountSchema>;
export type LinuxIDMapping = v.InferOutput<typeof LinuxIDMappingSchema>;
export type Hook = v.InferOutput<typeof HookSchema>;
export type Hooks = v.InferOutput<typeof HooksSchema>;
export type Linux = v.InferOutput<typeof LinuxSchema>;
export type LinuxNamespace = v.InferOutput<typeof LinuxNamespaceSchema>;
export type LinuxDevice = v.InferOutput<typeof LinuxDeviceSchema>;
export type LinuxResources = v.InferOutput<typeof LinuxResourcesSchema>;
export type LinuxDeviceCgroup = v.InferOutput<typeof LinuxDeviceCgroupSchema>;
export type LinuxMemory = v.InferOutput<typeof LinuxMemorySchema>;
export type LinuxCPU = v.InferOutput<typeof LinuxCPUSchema>;
export type LinuxBlockIO = v.InferOutput<typeof LinuxBlockIOSchema>;
export type LinuxSeccomp = v.InferOutput<typeof LinuxSeccompSchema>;
export type LinuxSyscall = v.InferOutput<typeof LinuxSyscallSchema>;
export type LinuxSeccompArg = v.InferOutput<typeof LinuxSeccompArgSchema>;
