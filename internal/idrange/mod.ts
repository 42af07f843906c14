/**
 * Subordinate id ranges for system containers: sysbox's entries in
 * /etc/subuid and /etc/subgid (created when missing), and the pool that
 * hands each container an exclusive block of 65536 ids from them.
 */
export * from "./subid.ts";
export * from "./logindefs.ts";
export * from "./plan.ts";
export * from "./pool.ts";
export * from "./setup.ts";
export * from "./user.ts";
