/**
 * The syscall layer: the only place in the project that may import `bun:ffi`.
 *
 * Each file wraps one syscall family thinly (fs, mount, proc, caps, socket,
 * pty, seccomp); code that composes several calls lives elsewhere: the
 * namespace stages in `internal/ns`, ID-mapped mounts in `internal/idmap`.
 * cstage.ts is the ffi half of those stages (TinyCC compile, addresses).
 * Every wrapper returns a value or throws `SysError` (syscall, errno name,
 * path), and retries EINTR. `linuxSys` (linux.ts) bundles the calls the
 * runtime makes, so tests can hand it a recording fake instead.
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
export * from "./linux.ts";
