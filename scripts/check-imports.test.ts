import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bypassesMod, callsOf, checkImports, findCycles, importsOf, packageOf } from "./check-imports.ts";

let roots: string[] = [];

/** Writes a fixture tree ({relative path: contents}) into a fresh temp dir. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "check-imports-"));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

describe("checkImports", () => {
  test("production code reaching inside another package is reported; mod.ts, sys families and tests are not", () => {
    const root = tree({
      "internal/ipc/mod.ts": `export * from "./frame.ts";\n`,
      "internal/ipc/frame.ts": `export const f = 1;\n`,
      "internal/sys/mount.ts": `export const m = 1;\n`,
      "internal/mgr/client.ts": `import { f } from "../ipc/mod.ts";\nimport { m } from "../sys/mount.ts";\nimport { f as g } from "../ipc/frame.ts";\n`,
      "internal/mgr/client.test.ts": `import { f } from "../ipc/frame.ts";\n`,
    });
    const { violations } = checkImports(root);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ rule: "bypasses-mod", file: "internal/mgr/client.ts", line: 3 });
    expect(violations[0]?.message).toContain("internal/ipc/mod.ts");
  });

  test("a cmd/*/main.ts over 80 lines is reported; 80 is fine", () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `// ${i}`).join("\n") + "\n";
    const root = tree({ "cmd/a/main.ts": body(81), "cmd/b/main.ts": body(80) });
    const { violations } = checkImports(root);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ rule: "cmd-too-long", file: "cmd/a/main.ts", line: 81 });
  });

  test("bypassesMod: only other packages' non-mod files, from production code under internal/ or cmd/", () => {
    expect(bypassesMod("internal/mgr/a.ts", "internal/ipc/frame.ts", "internal/ipc")).toBe(true);
    expect(bypassesMod("cmd/sysbox-fs/main.ts", "internal/ipc/frame.ts", "internal/ipc")).toBe(true);
    expect(bypassesMod("internal/mgr/a.ts", "internal/ipc/mod.ts", "internal/ipc")).toBe(false);
    expect(bypassesMod("internal/mgr/a.ts", "internal/sys/mount.ts", "internal/sys")).toBe(false);
    expect(bypassesMod("internal/mgr/a.test.ts", "internal/ipc/frame.ts", "internal/ipc")).toBe(false);
    expect(bypassesMod("bench/x.ts", "internal/ipc/frame.ts", "internal/ipc")).toBe(false);
  });

  test("a clean tree has no violations", () => {
    const root = tree({
      "internal/sys/mod.ts": `import { dlopen } from "bun:ffi";\nexport const x = dlopen;\n`,
      "internal/ns/mod.ts": `import { x } from "../sys/mod.ts";\nexport const y = x;\n`,
      "cmd/sysbox-runc/main.ts": `import { y } from "../../internal/ns/mod.ts";\nimport { consola } from "consola";\n`,
    });
    const result = checkImports(root);
    expect(result.violations).toEqual([]);
    expect(result.files).toBe(3);
    expect(result.packages).toEqual(["internal/ns", "internal/sys"]);
  });

  test("internal/ importing cmd/ is reported with its line", () => {
    const root = tree({
      "internal/ns/mod.ts": `// header\nimport { run } from "../../cmd/sysbox-runc/main.ts";\n`,
      "cmd/sysbox-runc/main.ts": `export const run = 1;\n`,
    });
    const [v, ...rest] = checkImports(root).violations;
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: "internal-imports-cmd", file: "internal/ns/mod.ts", line: 2 });
  });

  test("cmd/ importing cmd/ is allowed", () => {
    const root = tree({
      "cmd/a/main.ts": `import "../b/util.ts";\n`,
      "cmd/b/util.ts": ``,
    });
    expect(checkImports(root).violations).toEqual([]);
  });

  test("bun:ffi outside internal/sys is reported, including type-only imports", () => {
    const root = tree({
      "internal/ns/mod.ts": `import type { Pointer } from "bun:ffi";\n`,
      "cmd/x/main.ts": `const ffi = await import("bun:ffi");\n`,
      "scripts/tool.ts": `import { cc } from "bun:ffi";\n`,
      "internal/sys/deep/ok.ts": `import { cc } from "bun:ffi";\n`,
    });
    const found = checkImports(root).violations.map((v) => [v.rule, v.file]);
    expect(found).toEqual([
      ["ffi-outside-sys", "cmd/x/main.ts"],
      ["ffi-outside-sys", "internal/ns/mod.ts"],
      ["ffi-outside-sys", "scripts/tool.ts"],
    ]);
  });

  test("namespace stages outside internal/ns are reported: C files, their imports, compileStage, unshare and setns calls", () => {
    const root = tree({
      "internal/ns/nsexec.c": `int main(void) { return 0; }\n`,
      "internal/ns/nsexec.ts": `import src from "./nsexec.c" with { type: "text" };\nimport { compileStage } from "../sys/cstage.ts";\nexport const s = compileStage("nsexec", src, "f");\n`,
      "internal/sys/cstage.ts": `export function compileStage(a: string, b: string, c: string) { return compileStage; }\n`,
      "internal/sys/stage.c": `int x;\n`,
      "internal/runtime/clone.h": `#define X 1\n`,
      "internal/runtime/spawn.ts": `// compileStage("in a comment")\nimport src from "../sys/stage.c" with { type: "text" };\nimport * as cs from "../sys/cstage.ts";\nconst f = cs.compileStage("x", src, "y");\n`,
      "internal/runtime/join.ts": `import { linuxSys as sys } from "../sys/linux.ts";\nsys.unshare(0x200);\nsys.setns(3, 0x20000);\nBun.spawn(["unshare", "-m"]);\n`,
      "internal/sys/proc.ts": `export function unshare(f: number) {}\nexport function setns(fd: number, t: number) {}\nunshare(0);\n`,
      "internal/ns/join.ts": `sys.unshare(0x200);\nsys.setns(3, 0x20000);\n`,
    });
    const found = checkImports(root).violations.map((v) => [v.rule, v.file, v.line]);
    expect(found).toEqual([
      ["ns-stage-outside-ns", "internal/runtime/clone.h", 1],
      ["ns-stage-outside-ns", "internal/runtime/join.ts", 2],
      ["ns-stage-outside-ns", "internal/runtime/join.ts", 3],
      ["ns-stage-outside-ns", "internal/runtime/spawn.ts", 2],
      ["ns-stage-outside-ns", "internal/runtime/spawn.ts", 4],
      ["ns-stage-outside-ns", "internal/sys/stage.c", 1],
    ]);
  });

  test("import text inside strings and comments is not an import", () => {
    const root = tree({
      "scripts/fixture.ts": [
        `const a = 'import { cc } from "bun:ffi"';`,
        "const b = `import { cc } from \"bun:ffi\"`;",
        `// import { cc } from "bun:ffi";`,
        `/* import x from "../internal/ns/mod.ts" */`,
      ].join("\n"),
    });
    expect(checkImports(root).violations).toEqual([]);
  });

  test("a two-package cycle is reported once with both edges", () => {
    const root = tree({
      "internal/a/mod.ts": `import { b } from "../b/mod.ts";\nexport const a = 1;\n`,
      "internal/b/mod.ts": `\nimport type { a } from "../a/mod.ts";\nexport const b = 2;\n`,
    });
    const { violations } = checkImports(root);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ rule: "package-cycle", file: "internal/a/mod.ts", line: 1 });
    expect(violations[0]?.message).toContain("internal/a -> internal/b -> internal/a");
    expect(violations[0]?.message).toContain(`internal/b/mod.ts:2 imports "../a/mod.ts"`);
  });

  test("a three-package cycle through re-exports and dynamic imports", () => {
    const root = tree({
      "internal/a/x.ts": `export * from "../b/mod.ts";\n`,
      "internal/b/mod.ts": `export { c } from "../c/mod.ts";\n`,
      "internal/c/mod.ts": `const m = await import("../a/x.ts");\n`,
      "internal/d/mod.ts": `import "../a/x.ts";\n`,
    });
    const messages = checkImports(root).violations.filter((v) => v.rule === "package-cycle").map((v) => v.message);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("internal/a -> internal/b -> internal/c -> internal/a");
  });

  test("imports within one package never form a package cycle", () => {
    const root = tree({
      "internal/a/x.ts": `import "./y.ts";\n`,
      "internal/a/y.ts": `import "./x.ts";\n`,
    });
    expect(checkImports(root).violations).toEqual([]);
  });

  test("node_modules, build and dot directories are skipped", () => {
    const root = tree({
      "node_modules/pkg/index.ts": `import "bun:ffi";\n`,
      "build/gen.ts": `import "bun:ffi";\n`,
      ".cache/x.ts": `import "bun:ffi";\n`,
    });
    expect(checkImports(root)).toMatchObject({ violations: [], files: 0 });
  });
});

describe("helpers", () => {
  test("packageOf", () => {
    expect(packageOf("internal/ns/mod.ts")).toBe("internal/ns");
    expect(packageOf("internal/sys/deep/x.ts")).toBe("internal/sys");
    expect(packageOf("internal/loose.ts")).toBeUndefined();
    expect(packageOf("cmd/x/main.ts")).toBeUndefined();
  });

  test("importsOf finds every import form with its line", () => {
    const text = [
      `import a from "./a.ts";`,
      `import type { B } from "./b.ts";`,
      `export * from "./c.ts";`,
      `const d = require("./d.ts");`,
      `let e: import("./e.ts").E;`,
    ].join("\n");
    expect(importsOf(text)).toEqual([
      { specifier: "./a.ts", line: 1 },
      { specifier: "./b.ts", line: 2 },
      { specifier: "./c.ts", line: 3 },
      { specifier: "./d.ts", line: 4 },
      { specifier: "./e.ts", line: 5 },
    ]);
  });

  test("callsOf finds direct and method calls, not mentions", () => {
    const text = [`const a = "compileStage(x)";`, `compileStage("a", s, "f");`, `// compileStage()`, `m.compileStage("b", s, "g");`, `setns(1, 2);`].join("\n");
    expect(callsOf(text, ["compileStage", "setns"])).toEqual([
      { name: "compileStage", line: 2 }, { name: "compileStage", line: 4 }, { name: "setns", line: 5 },
    ]);
  });

  test("findCycles returns one cycle per strongly connected component", () => {
    const g = (edges: Record<string, string[]>) =>
      new Map(Object.entries(edges).map(([k, vs]) => [k, new Map(vs.map((v) => [v, null]))]));
    expect(findCycles(g({ a: ["b"], b: ["c"], c: [] }))).toEqual([]);
    expect(findCycles(g({ b: ["a"], a: ["b"] }))).toEqual([["a", "b"]]);
    expect(findCycles(g({ a: ["b"], b: ["a"], x: ["y"], y: ["z"], z: ["x"] }))).toEqual([
      ["a", "b"],
      ["x", "y", "z"],
    ]);
  });
});
