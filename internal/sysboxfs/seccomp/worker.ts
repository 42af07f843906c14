/**
 * Entry point of the interceptor's thread (a Bun Worker): receives the
 * LoopInit from server.ts and runs the notify loop, which blocks this thread
 * in poll(2) until told to stop. Listed as an extra entry point of the
 * compiled sysbox-fs (scripts/build.ts).
 */
import { NotifyLoop, type LoopEvent, type LoopInit } from "./loop.ts";
import { MountTables, procCallerIo } from "./caller.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent<LoopInit>) => {
  const post = (ev: LoopEvent) => self.postMessage(ev);
  const tables = new MountTables();
  const loop = new NotifyLoop(e.data, post, procCallerIo(tables));
  try {
    loop.run();
  } catch (err) {
    post({ type: "error", message: `notify loop failed: ${(err as Error).stack ?? err}` });
    loop.close();
  } finally {
    tables.clear();
  }
};
