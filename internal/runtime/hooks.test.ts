import { describe, expect, test } from "bun:test";
import { hookCommand, ociHookState, runHooks } from "./hooks.ts";

describe("hook state", () => {
  test("as runc writes it: ociVersion, id, status, pid, bundle; annotations only when there are some", () => {
    const s = ociHookState({ ociVersion: "1.0.2", id: "c", status: "creating", pid: 1, bundle: "/b", annotations: {} });
    expect(JSON.stringify(s)).toBe('{"ociVersion":"1.0.2","id":"c","status":"creating","pid":1,"bundle":"/b"}');
    expect(ociHookState({ ociVersion: "1.0.2", id: "c", status: "running", pid: 5, bundle: "/b", annotations: { a: "b" } })).toMatchObject({ annotations: { a: "b" } });
  });

  test("a stopped container has no pid", () => {
    expect(ociHookState({ ociVersion: "1.0.2", id: "c", status: "stopped", pid: 0, bundle: "/b" })).not.toHaveProperty("pid");
  });
});

describe("hookCommand", () => {
  test("plain: the path and the args after argv[0]", () => {
    expect(hookCommand({ path: "/bin/hook", args: ["hook", "a", "b"] })).toEqual(["/bin/hook", "a", "b"]);
  });

  test("entering an init: every namespace but the user namespace", () => {
    const cmd = hookCommand({ path: "/bin/hook", args: ["hook", "a"] }, 42);
    expect(cmd.slice(0, 2)).toEqual(["nsenter", "--target=42"]);
    expect(cmd).toContain("--mount");
    expect(cmd).toContain("--pid");
    expect(cmd).not.toContain("--user");
    expect(cmd.slice(cmd.indexOf("--") + 1)).toEqual(["/bin/hook", "a"]);
  });
});

describe("runHooks", () => {
  test("the state arrives on stdin; a failing hook names itself, its status and its stderr", () => {
    const state = { ociVersion: "1.0.2", id: "c", status: "created", pid: 3, bundle: "/b" };
    expect(() => runHooks("startContainer", [{ path: "/bin/sh", args: ["sh", "-c", 'read s; [ "$s" = \'{"ociVersion":"1.0.2","id":"c","status":"created","pid":3,"bundle":"/b"}\' ]'] }], state)).not.toThrow();
    expect(() => runHooks("poststart", [{ path: "/bin/sh", args: ["sh", "-c", "echo nope >&2; exit 3"] }], state))
      .toThrow("error running poststart hook /bin/sh: exit status 3, stderr: nope");
  });
});
