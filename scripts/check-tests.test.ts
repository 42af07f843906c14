import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { checkTestSource, checkTests } from "./check-tests.ts";

const rules = (text: string) => checkTestSource("x.test.ts", text).map((f) => `${f.line} ${f.rule} ${f.test}`);

describe("checkTestSource", () => {
  test("a test with an expect, or a same-file helper that expects, passes", () => {
    expect(rules(`
      function expectOk(r) { expect(r).toBe(0); }
      const viaHelper = (r) => expectOk(r);
      test("direct", () => { expect(1).toBe(1); });
      test("helper", async () => { viaHelper(0); });
      describe("d", () => { it("nested", () => { expect(2).toBe(2); }); });
    `)).toEqual([]);
  });

  test("a body without expect is reported, whatever the test's modifiers", () => {
    expect(rules(`
      test("bare", () => { doSomething(); });
      test.serial("serial", async () => { await x(); });
      test.skipIf(false)("skip-if [requires x]", () => {});
      describe("d", () => { test.each([1, 2])("each %d", (n) => { use(n); }); });
    `)).toEqual(["2 no-expect bare", "3 no-expect serial", "4 no-expect skip-if [requires x]", "5 no-expect each %d"]);
  });

  test("a conditional skip must say why in the name", () => {
    expect(rules(`
      test.skipIf(!root)("mounts [requires root]", () => { expect(1).toBe(1); });
      describe.skipIf(!fuse)(\`fuse [requires \${DEV}]\`, () => {});
      test.skipIf(!root)("mounts", () => { expect(1).toBe(1); });
      describe.if(fuse)("fuse", () => {});
    `)).toEqual(["4 skip-without-reason mounts", "5 skip-without-reason fuse"]);
  });

  test("skipped and todo tests are not looked at", () => {
    expect(rules(`
      test.skip("later", () => {});
      test.todo("someday", () => {});
    `)).toEqual([]);
  });

  test("a bare return before any expect is reported; one after an expect only narrows a type", () => {
    expect(rules(`
      test("early", () => {
        if (!haveThing) return;
        expect(thing()).toBe(1);
      });
      test("early with a note", () => {
        const x = setUp();
        if (!x) { console.warn("no x"); return; }
        expect(x).toBe(1);
      });
      test("narrowing", () => {
        const r = check();
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.error).toBe("e");
      });
    `)).toEqual(["3 early-return early", "8 early-return early with a note"]);
  });
});

test("every test in this repository can fail", () => {
  const { findings, files } = checkTests(join(import.meta.dir, ".."));
  expect(files).toBeGreaterThan(10);
  expect(findings).toEqual([]);
});
