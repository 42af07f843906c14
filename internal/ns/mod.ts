/**
 * Namespaces: planning which to create and join (namespaces.ts), and the two
 * small C stages that enter them, compiled at run time by TinyCC through
 * internal/sys/cstage.ts. nsexec starts a process in new and joined
 * namespaces (the container's init, an exec'd process); nsmount mounts or
 * unmounts from inside another process's namespaces (sysbox-fs).
 *
 * The only package with namespace stages: internal/sys stays one thin
 * wrapper per syscall, and code that clones into namespaces lives here.
 */
export * from "./namespaces.ts";
export * from "./nsexec.ts";
export * from "./nsmount.ts";
export * from "./join.ts";
export * from "./nsxattr.ts";
