import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addRuntime,
  DaemonJsonError,
  formatConfig,
  parseArgs,
  parseConfig,
  removeRuntime,
} from "./daemon-json.ts";

const P = "/usr/bin/sysbox-runc";

describe("parseConfig", () => {
  test("empty and blank text is an empty config", () => {
    expect(parseConfig("")).toEqual({});
    expect(parseConfig(" \n\t")).toEqual({});
  });

  test("keeps every key", () => {
    expect(parseConfig(`{"debug": true, "storage-driver": "overlay2"}`)).toEqual({
      debug: true,
      "storage-driver": "overlay2",
    });
  });

  test("invalid JSON, a non-object or a bad runtimes value is a clear error", () => {
    expect(() => parseConfig(`{"debug": true,}`, "/etc/docker/daemon.json")).toThrow(
      /\/etc\/docker\/daemon.json is not valid JSON .*left untouched/,
    );
    expect(() => parseConfig(`[1]`)).toThrow(DaemonJsonError);
    expect(() => parseConfig(`"x"`)).toThrow(/JSON object at the top level/);
    expect(() => parseConfig(`{"runtimes": []}`)).toThrow(/"runtimes" must be an object/);
  });
});

describe("addRuntime", () => {
  test("adds to an empty config", () => {
    const r = addRuntime({}, "sysbox-runc", P);
    expect(r.changed).toBe(true);
    expect(r.config).toEqual({ runtimes: { "sysbox-runc": { path: P } } });
  });

  test("keeps other keys, other runtimes and key order", () => {
    const before = { debug: true, runtimes: { crun: { path: "/usr/bin/crun" } }, "log-level": "warn" };
    const r = addRuntime(before, "sysbox-runc", P);
    expect(r.config).toEqual({
      debug: true,
      runtimes: { crun: { path: "/usr/bin/crun" }, "sysbox-runc": { path: P } },
      "log-level": "warn",
    });
    expect(Object.keys(r.config)).toEqual(["debug", "runtimes", "log-level"]);
    // The input is not mutated.
    expect(before.runtimes).toEqual({ crun: { path: "/usr/bin/crun" } });
  });

  test("is idempotent, keeping an existing entry's extra fields", () => {
    const once = addRuntime({}, "sysbox-runc", P).config;
    const twice = addRuntime(once, "sysbox-runc", P);
    expect(twice.changed).toBe(false);
    expect(twice.config).toBe(once);
    const withArgs = { runtimes: { "sysbox-runc": { path: P, runtimeArgs: ["--debug"] } } };
    expect(addRuntime(withArgs, "sysbox-runc", P)).toMatchObject({ changed: false, config: withArgs });
  });

  test("never overwrites an entry with another path", () => {
    const cfg = { runtimes: { "sysbox-runc": { path: "/opt/sysbox-runc" } } };
    expect(() => addRuntime(cfg, "sysbox-runc", P)).toThrow(/already registered with path \/opt\/sysbox-runc/);
  });
});

describe("removeRuntime", () => {
  test("removes the entry, keeping an emptied runtimes object (a reload replaces runtimes only when the key is there)", () => {
    const cfg = { debug: true, runtimes: { "sysbox-runc": { path: P } } };
    const r = removeRuntime(cfg, "sysbox-runc");
    expect(r).toMatchObject({ changed: true, message: "removed runtime sysbox-runc" });
    expect(r.config).toEqual({ debug: true, runtimes: {} });
  });

  test("keeps every other key, other runtimes and key order; the input is not mutated", () => {
    const cfg = {
      "log-level": "warn",
      runtimes: { crun: { path: "/usr/bin/crun" }, "sysbox-runc": { path: P } },
      labels: ["a=b"],
      "log-opts": { "max-size": "10m" },
    };
    const copy = structuredClone(cfg);
    const r = removeRuntime(cfg, "sysbox-runc");
    expect(r.config).toEqual({
      "log-level": "warn",
      runtimes: { crun: { path: "/usr/bin/crun" } },
      labels: ["a=b"],
      "log-opts": { "max-size": "10m" },
    });
    expect(Object.keys(r.config)).toEqual(["log-level", "runtimes", "labels", "log-opts"]);
    expect(cfg).toEqual(copy);
  });

  test("absent entry: unchanged", () => {
    expect(removeRuntime({ debug: true }, "sysbox-runc")).toMatchObject({ changed: false, config: { debug: true } });
    const other = { runtimes: { crun: { path: "/usr/bin/crun" } } };
    expect(removeRuntime(other, "sysbox-runc")).toMatchObject({ changed: false, config: other, message: "runtime sysbox-runc is not registered" });
  });

  test("with a path, only an entry with that path is removed", () => {
    const cfg = { runtimes: { "sysbox-runc": { path: "/opt/sysbox-runc" } } };
    expect(removeRuntime(cfg, "sysbox-runc", P)).toMatchObject({ changed: false, config: cfg });
    expect(removeRuntime(cfg, "sysbox-runc", P).message).toContain("has path /opt/sysbox-runc, not /usr/bin/sysbox-runc; kept");
    expect(removeRuntime(cfg, "sysbox-runc", "/opt/sysbox-runc").changed).toBe(true);
  });

  test("a default-runtime naming it is dropped too, and the message says so", () => {
    const cfg = { "default-runtime": "sysbox-runc", runtimes: { "sysbox-runc": { path: P } }, debug: true };
    const r = removeRuntime(cfg, "sysbox-runc", P);
    expect(r.config).toEqual({ runtimes: {}, debug: true });
    expect(r.message).toBe(
      `removed runtime sysbox-runc; "default-runtime" was sysbox-runc: removed too (Docker's default, runc, applies again)`,
    );
  });

  test("another default-runtime is kept", () => {
    const cfg = { "default-runtime": "crun", runtimes: { crun: { path: "/usr/bin/crun" }, "sysbox-runc": { path: P } } };
    expect(removeRuntime(cfg, "sysbox-runc").config).toEqual({ "default-runtime": "crun", runtimes: { crun: { path: "/usr/bin/crun" } } });
  });

  test("a default-runtime naming it without the entry is dropped (dockerd would not start)", () => {
    const r = removeRuntime({ "default-runtime": "sysbox-runc", debug: true }, "sysbox-runc");
    expect(r).toMatchObject({ changed: true, config: { debug: true } });
    expect(r.message).toContain("runtime sysbox-runc is not registered; \"default-runtime\" was sysbox-runc: removed too");
  });

  test("add then remove restores the original, but for an empty runtimes object", () => {
    const orig = { debug: true, runtimes: { crun: { path: "/usr/bin/crun" } } };
    const added = addRuntime(orig, "sysbox-runc", P).config;
    expect(removeRuntime(added, "sysbox-runc").config).toEqual(orig);
    expect(removeRuntime(addRuntime({ debug: true }, "sysbox-runc", P).config, "sysbox-runc").config).toEqual({ debug: true, runtimes: {} });
  });

  test("removing twice: the second is a no-op", () => {
    const once = removeRuntime({ runtimes: { "sysbox-runc": { path: P } } }, "sysbox-runc").config;
    expect(removeRuntime(once, "sysbox-runc")).toMatchObject({ changed: false, config: once });
  });
});

describe("parseArgs", () => {
  test("defaults and options", () => {
    expect(parseArgs(["add"])).toEqual({
      command: "add",
      file: "/etc/docker/daemon.json",
      name: "sysbox-runc",
      path: P,
    });
    expect(parseArgs(["remove", "--file", "/x.json", "--path", "/p"])).toMatchObject({
      command: "remove",
      file: "/x.json",
      path: "/p",
    });
    expect(parseArgs(["remove"]).path).toBeUndefined();
  });

  test("bad arguments", () => {
    expect(() => parseArgs([])).toThrow(/usage/);
    expect(() => parseArgs(["add", "--path"])).toThrow(/unexpected argument/);
    expect(() => parseArgs(["add", "--bogus", "1"])).toThrow(/unexpected argument/);
  });
});

describe("CLI", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });
  const cli = (...args: string[]) => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "daemon-json.ts"), ...args]);
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  test("creates a missing file, then add again is a no-op, remove cleans up", () => {
    dir = mkdtempSync(join(tmpdir(), "daemon-json-"));
    const file = join(dir, "docker", "daemon.json");
    expect(cli("add", "--file", file).code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ runtimes: { "sysbox-runc": { path: P } } });
    const mtime = statSync(file).mtimeMs;
    const again = cli("add", "--file", file);
    expect(again.out).toContain("already registered");
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(cli("remove", "--file", file).code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(formatConfig({ runtimes: {} }));
  });

  test("remove keeps the user's keys, writes valid JSON, and a second remove changes nothing", () => {
    dir = mkdtempSync(join(tmpdir(), "daemon-json-"));
    const file = join(dir, "daemon.json");
    const user = { "log-level": "warn", labels: ["site=a"], "default-runtime": "sysbox-runc", "max-concurrent-downloads": 5 };
    writeFileSync(file, JSON.stringify({ ...user, runtimes: { "sysbox-runc": { path: P }, other: { path: "/usr/sbin/runc" } } }));
    const r = cli("remove", "--file", file, "--path", P);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      `${file}: removed runtime sysbox-runc; "default-runtime" was sysbox-runc: removed too (Docker's default, runc, applies again)\n`,
    );
    const { "default-runtime": _d, ...kept } = user;
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ ...kept, runtimes: { other: { path: "/usr/sbin/runc" } } });
    const mtime = statSync(file).mtimeMs;
    const again = cli("remove", "--file", file);
    expect(again).toMatchObject({ code: 0, out: `${file}: runtime sysbox-runc is not registered\n` });
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  test("remove on a missing file creates nothing", () => {
    dir = mkdtempSync(join(tmpdir(), "daemon-json-"));
    const file = join(dir, "daemon.json");
    expect(cli("remove", "--file", file)).toMatchObject({ code: 0, out: `${file}: runtime sysbox-runc is not registered\n` });
    expect(existsSync(file)).toBe(false);
  });

  test("invalid JSON: exit 1, clear message, file untouched", () => {
    dir = mkdtempSync(join(tmpdir(), "daemon-json-"));
    const file = join(dir, "daemon.json");
    const text = `{"debug": true,,}`;
    writeFileSync(file, text);
    const r = cli("add", "--file", file);
    expect(r.code).toBe(1);
    expect(r.err).toContain("is not valid JSON");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });

  test("keeps the file's mode and prints top-level keys", () => {
    dir = mkdtempSync(join(tmpdir(), "daemon-json-"));
    const file = join(dir, "daemon.json");
    writeFileSync(file, `{"iptables": false, "debug": true}`);
    chmodSync(file, 0o600);
    expect(cli("add", "--file", file, "--path", "/opt/x").code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(cli("keys", "--file", file).out).toBe("iptables\ndebug\nruntimes\n");
  });
});
