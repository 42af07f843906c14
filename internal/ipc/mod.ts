/**
 * IPC between sysbox-runc and the daemons: length-prefixed CBOR frames over
 * Unix sockets, with a valibot-checked message registry. frame.ts is pure;
 * server.ts and client.ts do the socket I/O through Bun's native sockets.
 */
export * from "./frame.ts";
export * from "./messages.ts";
export * from "./endpoints.ts";
export * from "./server.ts";
export * from "./client.ts";
export * from "./mgr_client.ts";
export * from "./fs_client.ts";
