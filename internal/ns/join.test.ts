import { expect, test } from "bun:test";
import { CLONE } from "../sys/flags.ts";
import { joinMountNamespace } from "./join.ts";

test("joinMountNamespace unshares CLONE_FS first, then setns CLONE_NEWNS, then closes the fd", () => {
  const calls: unknown[][] = [];
  joinMountNamespace(7, {
    unshare: (f) => { calls.push(["unshare", f]); },
    setns: (fd, t) => { calls.push(["setns", fd, t]); },
    close: (fd) => { calls.push(["close", fd]); },
  });
  expect(calls).toEqual([["unshare", CLONE.FS], ["setns", 7, CLONE.NEWNS], ["close", 7]]);
});
