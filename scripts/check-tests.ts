/**
 * Finds tests that cannot fail; prints them, exits 1 on any.
 *  1. no-expect: a test body that calls `expect` neither itself nor through
 *     a helper declared in the same file (it passes unless it throws).
 *  2. early-return: `if (...) return;` among a test body's own statements (it
 *     passes without checking anything; use `test.skipIf(cond)("... [requires ...]")`).
 *  3. skip-without-reason: a `test`/`describe` `.skipIf(...)` or `.if(...)`
 *     whose name does not say "[requires ...]" (skipIf takes no message, so
 *     the reason goes in the name, which the skip shows).
 * Looks at every *.test.ts and *.e2e.ts; skipped and todo tests are left out.
 *
 *   bun scripts/check-tests.ts [ROOT]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export type TestRule = "no-expect" | "early-return" | "skip-without-reason";

export interface TestFinding {
  rule: TestRule;
  /** Path relative to the root, with "/" separators. */
  file: string;
  line: number;
  /** The test's name as written (its first argument's text). */
  test: string;
}

const TEST_FILE = /\.(test|e2e)\.tsx?$/;
const SKIP_DIRS = new Set(["node_modules", "build", "dist"]);
/** Modifiers whose body never runs. */
const NOT_RUN = new Set(["skip", "todo"]);

function* testFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || SKIP_DIRS.has(entry.name)) continue;
      yield* testFiles(join(dir, entry.name));
    } else if (entry.isFile() && TEST_FILE.test(entry.name)) {
      yield join(dir, entry.name);
    }
  }
}

type Fn = ts.ArrowFunction | ts.FunctionExpression | ts.FunctionDeclaration | ts.MethodDeclaration;

function isFn(n: ts.Node): n is Fn {
  return ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n);
}

/**
 * Whether `callee` is a test registration: `test`/`it`, with any chain of
 * modifiers (`test.serial`, `test.skipIf(c)`, `test.each(t)`). Undefined if
 * not; "not-run" for skip and todo.
 */
function testCallee(callee: ts.Expression): "run" | "not-run" | undefined {
  if (ts.isIdentifier(callee)) return callee.text === "test" || callee.text === "it" ? "run" : undefined;
  if (ts.isPropertyAccessExpression(callee)) {
    const base = testCallee(callee.expression);
    if (base === undefined) return undefined;
    return NOT_RUN.has(callee.name.text) ? "not-run" : base;
  }
  // test.skipIf(cond)(...), test.each(table)(...): the modifier call is the callee.
  if (ts.isCallExpression(callee) && ts.isPropertyAccessExpression(callee.expression)) return testCallee(callee.expression);
  return undefined;
}

/** `test.skipIf(c)`, `describe.if(c)` and the like: a conditional registration, as the callee of the call naming the test. */
function isConditional(callee: ts.Expression): boolean {
  if (!ts.isCallExpression(callee) || !ts.isPropertyAccessExpression(callee.expression)) return false;
  const { expression: base, name } = callee.expression;
  if (!["skipIf", "if", "todoIf"].includes(name.text)) return false;
  const root = ts.isPropertyAccessExpression(base) ? base.expression : base;
  return ts.isIdentifier(root) && ["test", "it", "describe"].includes(root.text);
}

/** Identifiers called or mentioned anywhere under `node`. */
function identifiersIn(node: ts.Node): Set<string> {
  const found = new Set<string>();
  const walk = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) found.add(n.text);
    ts.forEachChild(n, walk);
  };
  walk(node);
  return found;
}

/** Names of this file's functions that call `expect`, directly or through one another. */
function assertingHelpers(source: ts.SourceFile): Set<string> {
  const mentions = new Map<string, Set<string>>();
  const note = (name: string, body: ts.Node | undefined) => {
    if (!body) return;
    const ids = identifiersIn(body);
    mentions.set(name, new Set([...(mentions.get(name) ?? []), ...ids]));
  };
  const walk = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) && n.name) note(n.name.text, n.body);
    else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && isFn(n.initializer)) note(n.name.text, n.initializer.body);
    else if (ts.isMethodDeclaration(n) && ts.isIdentifier(n.name)) note(n.name.text, n.body);
    else if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && isFn(n.initializer)) note(n.name.text, n.initializer.body);
    ts.forEachChild(n, walk);
  };
  walk(source);
  const asserting = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, ids] of mentions) {
      if (asserting.has(name)) continue;
      if (ids.has("expect") || [...ids].some((id) => asserting.has(id))) {
        asserting.add(name);
        grew = true;
      }
    }
  }
  return asserting;
}

/**
 * `if (...) return;` (or a block ending so, a warning say) among the body's own top-level
 * statements, before anything asserted (after an expect, such a return only
 * narrows a type).
 */
function earlyReturn(body: ts.Block, asserts: (n: ts.Node) => boolean): ts.Node | undefined {
  const bareReturn = (s: ts.Statement): boolean =>
    (ts.isReturnStatement(s) && s.expression === undefined) ||
    (ts.isBlock(s) && s.statements.length > 0 && !asserts(s) && bareReturn(s.statements.at(-1)!));
  for (const s of body.statements) {
    if (ts.isIfStatement(s) && (bareReturn(s.thenStatement) || (s.elseStatement !== undefined && bareReturn(s.elseStatement)))) return s;
    if (asserts(s)) return undefined;
  }
  return undefined;
}

/** The findings in one file's text; `file` only labels them. */
export function checkTestSource(file: string, text: string): TestFinding[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const helpers = assertingHelpers(source);
  const findings: TestFinding[] = [];
  const lineOf = (n: ts.Node) => source.getLineAndCharacterOfPosition(n.getStart(source)).line + 1;
  const asserts = (n: ts.Node) => {
    const ids = identifiersIn(n);
    return ids.has("expect") || [...ids].some((id) => helpers.has(id));
  };
  const walk = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && isConditional(n.expression)) {
      const name = n.arguments[0];
      const text = name ? name.getText(source) : "";
      if (!text.includes("[requires ")) {
        const label = name && ts.isStringLiteralLike(name) ? name.text : text;
        findings.push({ rule: "skip-without-reason", file, line: lineOf(n), test: label });
      }
    }
    if (ts.isCallExpression(n) && testCallee(n.expression) === "run") {
      const [name, ...rest] = n.arguments;
      const fn = rest.find((a): a is ts.ArrowFunction | ts.FunctionExpression => ts.isArrowFunction(a) || ts.isFunctionExpression(a));
      if (name && fn) {
        const label = ts.isStringLiteralLike(name) ? name.text : name.getText(source);
        if (!asserts(fn.body)) findings.push({ rule: "no-expect", file, line: lineOf(n), test: label });
        const ret = ts.isBlock(fn.body) ? earlyReturn(fn.body, asserts) : undefined;
        if (ret) findings.push({ rule: "early-return", file, line: lineOf(ret), test: label });
      }
    }
    ts.forEachChild(n, walk);
  };
  walk(source);
  return findings;
}

export function checkTests(root: string): { findings: TestFinding[]; files: number } {
  const findings: TestFinding[] = [];
  let files = 0;
  for (const abs of testFiles(root)) {
    files++;
    const rel = relative(root, abs).split(sep).join("/");
    findings.push(...checkTestSource(rel, readFileSync(abs, "utf8")));
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { findings, files };
}

const ADVICE: Record<TestRule, string> = {
  "no-expect": "no expect: it passes unless it throws",
  "early-return": "returns early and passes without checking; use test.skipIf(cond)(\"... [requires ...]\")",
  "skip-without-reason": "skipped on a condition its name does not give; end the name with \"[requires ...]\"",
};

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
  const { findings, files } = checkTests(root);
  for (const f of findings) console.log(`${f.file}:${f.line}: "${f.test}": ${ADVICE[f.rule]} [${f.rule}]`);
  if (findings.length > 0) {
    console.log(`check-tests: ${findings.length} finding(s) in ${files} test files`);
    process.exitCode = 1;
  } else {
    console.log(`check-tests: ok (${files} test files)`);
  }
}
