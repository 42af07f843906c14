/**
 * Test helper: applies an OCI-style capability request to this thread, as
 * root or after switching to uid 1000, prints the result, then execs `grep`
 * so the test also sees the sets the new program starts with.
 */
import { readFileSync } from "node:fs";
import { writeAll } from "../fs.ts";
import { execve, setKeepCaps, setresgid, setresuid } from "../proc.ts";
import { applyCapabilities } from "../caps.ts";

const asUser = process.argv[2] === "user";
const set = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP", "CAP_SYS_RESOURCE", "CAP_NOT_A_CAP"];

if (asUser) {
  setKeepCaps(true);
  setresgid(1000, 1000, 1000);
  setresuid(1000, 1000, 1000);
  setKeepCaps(false);
}
const dropped = applyCapabilities({
  bounding: set, effective: set, permitted: set, inheritable: set, ambient: ["CAP_NET_BIND_SERVICE"],
});
const caps = readFileSync("/proc/thread-self/status", "utf8").split("\n").filter((l) => l.startsWith("Cap")).join("\n");
writeAll(1, new TextEncoder().encode(JSON.stringify({ dropped, caps }) + "\n"));
execve("/bin/grep", ["grep", "^Cap", "/proc/self/status"], []);
