import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKeptFds } from "./kept.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateFile(text?: string): string {
  const d = mkdtempSync(join(tmpdir(), "kept-test-"));
  dirs.push(d);
  const p = join(d, "seccomp-state.json");
  if (text !== undefined) writeFileSync(p, text);
  return p;
}

function logger() {
  const lines: string[] = [];
  return { lines, warn: (m: string) => lines.push(`warn ${m}`), info: (m: string) => lines.push(`info ${m}`) };
}

describe("the seccomp state file", () => {
  test.each([
    ["not JSON", "{"],
    ["another version", JSON.stringify({ v: 2, fds: [] })],
    ["a bad record", JSON.stringify({ v: 1, fds: [{ containerId: "c", pid: -1, keeper: { pid: 1, startTime: "1" } }] })],
  ])("%s: ignored with a warning, and written afresh", (_what, text) => {
    const path = stateFile(text);
    const log = logger();
    const kept = openKeptFds(path, log);
    expect(kept.adopted).toEqual([]);
    expect(log.lines.some((l) => l.startsWith(`warn seccomp: ignoring ${path}`))).toBe(true);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ v: 1, fds: [] });
  });

  test("a record whose keeper is gone (or is another process now) is dropped", () => {
    const path = stateFile(JSON.stringify({ v: 1, fds: [{ containerId: "c", pid: 4242, keeper: { pid: process.pid, startTime: "1" } }] }));
    const log = logger();
    expect(openKeptFds(path, log).adopted).toEqual([]);
    expect(log.lines).toEqual([]);
    expect(JSON.parse(readFileSync(path, "utf8")).fds).toEqual([]);
  });

  test("no file: nothing to take back", () => {
    const path = stateFile();
    expect(openKeptFds(path, logger()).adopted).toEqual([]);
  });
});
