import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { KeeperRecordSchema, readStateFile, StateFileError, writeStateFile } from "./statefile.ts";

const Schema = v.object({ v: v.literal(1), keepers: v.array(KeeperRecordSchema) });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keeper-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("state files", () => {
  test("no file: undefined", () => {
    expect(readStateFile(join(dir, "none.json"), Schema)).toBeUndefined();
  });

  test("written 0600, compact or pretty with a final newline, and read back", () => {
    const state = { v: 1 as const, keepers: [{ pid: 42, startTime: "12345" }] };
    const compact = join(dir, "seccomp-state.json");
    const pretty = join(dir, "fs-state.json");
    writeStateFile(compact, state);
    writeStateFile(pretty, state, { pretty: true });
    expect(readFileSync(compact, "utf8")).toBe('{"v":1,"keepers":[{"pid":42,"startTime":"12345"}]}');
    expect(readFileSync(pretty, "utf8")).toBe(`${JSON.stringify(state, null, 2)}\n`);
    expect(statSync(compact).mode & 0o777).toBe(0o600);
    expect(readStateFile(compact, Schema)).toEqual(state);
    expect(readStateFile(pretty, Schema)).toEqual(state);
  });

  test.each([
    ["not JSON", "{", /^is not JSON: /],
    ["a keeper without a start time", '{"v":1,"keepers":[{"pid":42}]}', /^is invalid: keepers\.0\.startTime: /],
    ["a start time that is not ticks", '{"v":1,"keepers":[{"pid":42,"startTime":"soon"}]}', /^is invalid: keepers\.0\.startTime: /],
    ["a pid of 0", '{"v":1,"keepers":[{"pid":0,"startTime":"1"}]}', /^is invalid: keepers\.0\.pid: /],
  ])("%s: a StateFileError naming the file and the problem", (_what, text, reason) => {
    const path = join(dir, "s.json");
    writeFileSync(path, text);
    let err: unknown;
    try {
      readStateFile(path, Schema);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as StateFileError).reason).toMatch(reason);
    expect((err as Error).message).toStartWith(`state file ${path} is `);
  });
});
