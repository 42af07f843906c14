/**
 * Syscall interception through seccomp user notification: the runtime's
 * side (client.ts: install the filter, register its fd) and sysbox-fs's side
 * (server.ts: the registration socket and the notify loop on its own
 * thread), with the decision table in policy.ts. The wire format is in
 * wire.ts.
 */
export {
  INTERCEPT_SOCKET, InterceptorError, closeQuietly, connectInterceptor, initialMounts, installNotifyFilter,
  interceptSocketPath, sendNotifyFd, type FilterOptions, type NotifyMeta, type SendOptions,
} from "./client.ts";
export { startInterceptServer, type InterceptLogger, type InterceptServer, type InterceptServerOptions, type InterceptStats } from "./server.ts";
export { RULES, decide, readOnlyOrigin, type CallContext, type ContainerMounts, type InitialMount, type Verdict } from "./policy.ts";
export type { VirtualFsConfig } from "./virtualfs.ts";
export { ACK, type RegisterMounts, type RegisterRequest } from "./wire.ts";
