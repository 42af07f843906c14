import { expect, test } from "bun:test";
import { formatList } from "./ops.ts";

test("list's table is laid out as runc's: columns 3 wider than their widest cell, at least 12", () => {
  const states = [
    { id: "a", pid: 17217, status: "running", bundle: "/srv/bundle/one", created: "2026-12-02T08:21:25.856Z", owner: "root" },
    { id: "b", pid: 0, status: "stopped", bundle: "/b", created: "2026-12-02T08:21:25.977Z", owner: "" },
  ];
  expect(formatList(states, "table", false)).toBe([
    "ID          PID         STATUS      BUNDLE            CREATED                    OWNER",
    "a           17217       running     /srv/bundle/one   2026-12-02T08:21:25.856Z   root",
    "b           0           stopped     /b                2026-12-02T08:21:25.977Z   root",
    "",
  ].join("\n"));
  expect(formatList(states, "table", true)).toBe("a\nb\n");
});
