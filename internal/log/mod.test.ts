import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatJsonLine, formatMessage, formatTextLine, rfc3339, setupLogging } from "./mod.ts";

const date = new Date("2026-11-28T12:00:00.123Z");

describe("line formats", () => {
  test("json: runc's (logrus's) keys, level names and RFC 3339 time", () => {
    expect(formatJsonLine({ type: "error", args: ["container %s not found", "c1"], date })).toBe(
      '{"level":"error","msg":"container c1 not found","time":"2026-11-28T12:00:00Z"}',
    );
    const level = (type: "warn" | "info" | "debug" | "fatal" | "log" | "ready") => JSON.parse(formatJsonLine({ type, args: ["x"], date })).level;
    expect(level("warn")).toBe("warning");
    expect(level("info")).toBe("info");
    expect(level("ready")).toBe("info");
    expect(level("log")).toBe("info");
    expect(level("debug")).toBe("debug");
    // containerd surfaces only "error" lines.
    expect(level("fatal")).toBe("error");
  });

  test("json: quotes and newlines stay inside one line", () => {
    const line = formatJsonLine({ type: "error", args: ['bad "x"\nsecond line'], date });
    expect(line).not.toContain("\n");
    expect(JSON.parse(line).msg).toBe('bad "x"\nsecond line');
  });

  test("an Error logs as its message, without the stack", () => {
    expect(formatMessage([new Error("mount `/x`: EPERM")])).toBe("mount `/x`: EPERM");
    expect(formatMessage(["create:", new Error("boom")])).toBe("create: boom");
  });

  test("a consola tag prefixes the message", () => {
    expect(JSON.parse(formatJsonLine({ type: "info", args: ["hi"], date, tag: "init" })).msg).toBe("init: hi");
  });

  test("text: logrus's text formatter", () => {
    expect(formatTextLine({ type: "warn", args: ["low on space"], date })).toBe('time="2026-11-28T12:00:00Z" level=warning msg="low on space"');
  });

  test("rfc3339 drops the milliseconds", () => {
    expect(rfc3339(new Date(0))).toBe("1970-01-01T00:00:00Z");
  });
});

describe("setupLogging", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("json to a file: appends, honours the level, keeps repeated lines", () => {
    const file = join(dir, "log.json");
    writeFileSync(file, '{"level":"info","msg":"earlier","time":"2026-01-01T00:00:00Z"}\n');
    const log = setupLogging({ file, format: "json", level: "info" });
    log.debug("hidden");
    log.info("starting");
    log.error("same");
    log.error("same");
    log.error("same");
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(["earlier", "starting", "same", "same", "same"]);
    expect(lines[4].level).toBe("error");
    expect(lines[4].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test("creates a missing file; level error drops warnings", () => {
    const file = join(dir, "new.log");
    const log = setupLogging({ file, format: "text", level: "error" });
    log.warn("dropped");
    log.error("kept");
    expect(readFileSync(file, "utf8")).toMatch(/^time="[^"]+" level=error msg="kept"\n$/);
  });

  test("debug level shows debug lines", () => {
    const file = join(dir, "debug.log");
    setupLogging({ file, format: "json", level: "debug" }).debug("details");
    expect(JSON.parse(readFileSync(file, "utf8")).level).toBe("debug");
  });

  test("without a file, lines go to stderr", async () => {
    const script = `
      import { setupLogging } from ${JSON.stringify(join(import.meta.dir, "mod.ts"))};
      setupLogging({ format: "json", level: "info" }).error("to stderr");
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    expect(await child.exited).toBe(0);
    expect(await new Response(child.stdout).text()).toBe("");
    expect(JSON.parse(await new Response(child.stderr).text())).toMatchObject({ level: "error", msg: "to stderr" });
  });
});
