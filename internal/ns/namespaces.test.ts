import { expect, test } from "bun:test";
import { planNamespaces, execJoinOrder } from "./namespaces.ts";
import { CLONE } from "../sys/flags.ts";

test("Docker's default namespaces are all new", () => {
  const p = planNamespaces([{ type: "mount" }, { type: "network" }, { type: "uts" }, { type: "pid" }, { type: "ipc" }]);
  expect(p.flags).toBe(CLONE.NEWNS | CLONE.NEWNET | CLONE.NEWUTS | CLONE.NEWPID | CLONE.NEWIPC);
  expect(p.join).toEqual([]);
});

test("--network container:X joins by path; user goes first and mount last", () => {
  const p = planNamespaces([{ type: "mount", path: "/proc/9/ns/mnt" }, { type: "network", path: "/proc/7/ns/net" }, { type: "user", path: "/proc/7/ns/user" }]);
  expect(p.join.map((j) => j.type)).toEqual(["user", "network", "mount"]);
  expect(p.flags).toBe(0);
});

test("an unknown type is named", () => {
  expect(() => planNamespaces([{ type: "bogus" }])).toThrow(/"bogus"/);
});

test("exec joins in a fixed order", () => {
  expect(execJoinOrder(["mnt", "net", "user", "pid"]).map((n) => n.proc)).toEqual(["user", "pid", "net", "mnt"]);
});
