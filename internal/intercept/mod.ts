/**
 * Syscall interception through seccomp user notification, minus the server:
 * the pure decision core (syscalls.ts decodes a trapped call, view.ts and
 * resolve.ts find what its path names in the caller's mount table,
 * policy.ts and evaluate.ts decide, registry.ts describes a registered
 * container) and the registration wire format (wire.ts), plus the runtime's
 * client (client.ts: install the filter in the container's init, register
 * its fd). sysbox-fs's server half (registration socket, notify loop on its
 * own thread, keepers) is internal/sysboxfs/seccomp, which imports this
 * package; this package imports no daemon.
 */
export {
  INTERCEPT_SOCKET, InterceptorError, closeQuietly, connectInterceptor, initialMounts, installNotifyFilter,
  interceptSocketPath, sendNotifyFd, type FilterOptions, type NotifyMeta, type SendOptions,
} from "./client.ts";
export { evaluate, type CallerIo, type CallerView, type Evaluation } from "./evaluate.ts";
export {
  RULES, decide, readOnlyOrigin, type CallContext, type ContainerMounts, type InitialMount, type MountFsVerdict, type Verdict,
} from "./policy.ts";
export { Registry, RegistrationError, describeContainer } from "./registry.ts";
export { MountView, type MountInfoEntry } from "./view.ts";
export { TRAP_GROUPS, type TrapGroup } from "./settings_syscalls.ts";
export { CAP_CHOWN, XATTR_SIZE_MAX, type XattrVerdict } from "./settings_policy.ts";
export {
  ACK, BadRequestError, MAX_REGISTRATION_FRAME, RegisterMountsSchema, encodeReply, parseRequest, type RegisterMounts, type RegisterRequest,
} from "./wire.ts";
export { MKNOD_ALLOW, decideMknod, type DeviceVerdict, type MknodBindVerdict, type SysinfoVerdict } from "./mknod.ts";
export { SYSINFO_LAYOUT, encodeSysinfo, sysinfoLayout, type SysinfoValues } from "./sysinfo.ts";
export { AT_FDCWD, DEVICE_TRAPPED } from "./syscalls_devices.ts";
