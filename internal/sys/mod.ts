/**
 * The syscall layer: the only place in the project that may import `bun:ffi`.
 *
 * Each file wraps one syscall family thinly; code that composes several calls
 * lives in `internal/ns`, `internal/idmap` and friends. Every wrapper returns a
 * value or throws `SysError` (syscall, errno name, path), and retries EINTR.
 */
export * from "./errno.ts";
export * from "./flags.ts";
export * from "./cstr.ts";
export * from "./fs.ts";
export * from "./mount.ts";
export * from "./proc.ts";
export * from "./caps.ts";
export * from "./socket.ts";
export * from "./pty.ts";
