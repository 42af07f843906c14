/** The Worker side of `startFakeBus`: serves the fake bus and reports what it received. */
import { serveFakeBus, type FakeBusConfig, type FakeBusLog } from "./fakebus.ts";

declare const self: Worker;

let server: ReturnType<typeof serveFakeBus> | undefined;

self.onmessage = (e: MessageEvent<{ cmd: "start"; path: string; config: FakeBusConfig } | { cmd: "log" | "stop" }>) => {
  const msg = e.data;
  try {
    if (msg.cmd === "start") {
      server = serveFakeBus(msg.path, msg.config);
      self.postMessage({ type: "listening" });
    } else if (msg.cmd === "log") {
      const log: FakeBusLog = {
        connections: (server?.cores ?? []).map((c) => ({ authLines: [...c.authLines], messages: [...c.receivedBytes] })),
      };
      self.postMessage({ type: "log", log });
    } else {
      server?.stop();
      server = undefined;
      self.postMessage({ type: "stopped" });
    }
  } catch (err) {
    self.postMessage({ type: "error", error: String(err) });
  }
};
