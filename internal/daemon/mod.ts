/**
 * What sysbox-mgr and sysbox-fs share as processes: flags, the pid file, the
 * socket's lifetime, signal-driven shutdown and the status handler.
 */
export * from "./flags.ts";
export * from "./pidfile.ts";
export * from "./run.ts";
export * from "./cli.ts";
