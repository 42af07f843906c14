/**
 * Enforces the project's import rules; prints violations, exits 1 on any.
 *  1. Files under internal/ never import from cmd/.
 *  2. Only files under internal/sys/ import "bun:ffi".
 *  3. No import cycles among internal packages (package = internal/<name>).
 *  4. Only internal/ns/ holds namespace stages: C sources (*.c, *.h), imports
 *     of them, calls of compileStage or lazyStage (the TinyCC entries that build a stage;
 *     internal/sys/cstage.ts defines it), and calls of unshare or setns
 *     (internal/sys wraps them; everyone else goes through internal/ns).
 *  5. Production code reaches another internal package through its mod.ts,
 *     so each package's public surface is one file; the syscall families
 *     internal/sys/<family>.ts are the one exception (imported one by one so
 *     a binary loads only the families it calls). Tests may reach inside.
 *  6. Each cmd/NAME/main.ts stays wiring: at most 80 lines.
 * Type-only imports count: the rules are about structure, not just run time.
 *
 *   bun scripts/check-imports.ts [ROOT]
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export type Rule =
  | "internal-imports-cmd" | "ffi-outside-sys" | "package-cycle" | "ns-stage-outside-ns" | "bypasses-mod" | "cmd-too-long";

export interface Violation {
  rule: Rule;
  /** Path relative to the root, with "/" separators. */
  file: string;
  line: number;
  message: string;
}

export interface CheckResult {
  violations: Violation[];
  files: number;
  packages: string[];
}

const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const C_EXT = /\.(c|h)$/;
const NS_DIR = "internal/ns/";
const STAGE_DEFINER = "internal/sys/cstage.ts";
const SYS_DIR = "internal/sys/";
/** Calls that build or enter namespaces, and where else they may appear. */
const NS_CALLS: Record<string, (rel: string) => boolean> = {
  compileStage: (rel) => rel === STAGE_DEFINER,
  lazyStage: (rel) => rel === STAGE_DEFINER,
  unshare: (rel) => rel.startsWith(SYS_DIR),
  setns: (rel) => rel.startsWith(SYS_DIR),
};
const SKIP_DIRS = new Set(["node_modules", "build", "dist"]);

function* sourceFiles(dir: string, ext: RegExp = SOURCE_EXT): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || SKIP_DIRS.has(entry.name)) continue;
      yield* sourceFiles(join(dir, entry.name), ext);
    } else if (entry.isFile() && ext.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      yield join(dir, entry.name);
    }
  }
}

/** Calls of `names` (plain or as a method), with 1-based lines; comments and strings excluded. */
export function callsOf(text: string, names: readonly string[]): Array<{ name: string; line: number }> {
  const src = ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest, false);
  const found: Array<{ name: string; line: number }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : "";
      if (names.includes(name)) found.push({ name, line: src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}

/** "internal/ns/mod.ts" -> "internal/ns"; undefined outside internal/<pkg>/. */
export function packageOf(rel: string): string | undefined {
  const parts = rel.split("/");
  return parts[0] === "internal" && parts.length > 2 ? `internal/${parts[1]}` : undefined;
}

interface ImportRef {
  specifier: string;
  line: number;
}

/** Static, dynamic, re-export, require and type-only imports, with 1-based lines. */
export function importsOf(text: string): ImportRef[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => ({
    specifier: f.fileName,
    line: text.slice(0, f.pos).split("\n").length,
  }));
}

const TEST_FILE = /(\.test\.ts|\.e2e\.ts)$|(^|\/)(testdata|_testing|_testenv|_fakefs)/;

/** Rule 4: a production file importing a file of another package other than its mod.ts. */
export function bypassesMod(fromRel: string, target: string, toPkg: string): boolean {
  if (TEST_FILE.test(fromRel) || !/^(internal|cmd)\//.test(fromRel)) return false;
  if (toPkg === "internal/sys") return false;
  const inside = target.slice(toPkg.length + 1);
  return inside !== "mod.ts" && inside !== "mod";
}

interface Edge {
  file: string;
  line: number;
  specifier: string;
}

const CMD_MAX_LINES = 80;

export function checkImports(root: string): CheckResult {
  const violations: Violation[] = [];
  // package -> imported package -> the first import that makes the edge
  const graph = new Map<string, Map<string, Edge>>();
  const packages = new Set<string>();
  let files = 0;

  for (const abs of sourceFiles(root, C_EXT)) {
    const rel = toPosix(relative(root, abs));
    // bench/fixtures/ holds the peers a benchmark compiles (a C FUSE server, a reader), never a stage.
    if (!rel.startsWith(NS_DIR) && !rel.startsWith("bench/fixtures/")) {
      violations.push({
        rule: "ns-stage-outside-ns",
        file: rel,
        line: 1,
        message: `is a C source; namespace stages live only in internal/ns/`,
      });
    }
  }

  for (const abs of sourceFiles(root)) {
    files++;
    const rel = toPosix(relative(root, abs));
    const fromPkg = packageOf(rel);
    if (fromPkg) packages.add(fromPkg);
    const text = readFileSync(abs, "utf8");
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (/^cmd\/[^/]+\/main\.ts$/.test(rel) && lines > CMD_MAX_LINES) {
      violations.push({
        rule: "cmd-too-long",
        file: rel,
        line: CMD_MAX_LINES + 1,
        message: `has ${lines} lines; cmd/ only wires internal/ together (at most ${CMD_MAX_LINES}): move the logic into internal/`,
      });
    }
    const inNs = rel.startsWith(NS_DIR);
    if (!inNs) {
      for (const { name, line } of callsOf(text, Object.keys(NS_CALLS))) {
        if (NS_CALLS[name]?.(rel)) continue;
        violations.push({
          rule: "ns-stage-outside-ns",
          file: rel,
          line,
          message: `calls ${name}; namespace stages and joins live only in internal/ns/`,
        });
      }
    }
    for (const { specifier, line } of importsOf(text)) {
      if (C_EXT.test(specifier) && !inNs) {
        violations.push({
          rule: "ns-stage-outside-ns",
          file: rel,
          line,
          message: `imports the C source "${specifier}"; namespace stages live only in internal/ns/`,
        });
      }
      if (specifier === "bun:ffi" && !rel.startsWith("internal/sys/")) {
        violations.push({
          rule: "ffi-outside-sys",
          file: rel,
          line,
          message: `imports "bun:ffi"; only internal/sys/ may (wrap the call there)`,
        });
      }
      if (!specifier.startsWith(".")) continue;
      const target = toPosix(relative(root, resolve(dirname(abs), specifier)));
      if (rel.startsWith("internal/") && (target === "cmd" || target.startsWith("cmd/"))) {
        violations.push({
          rule: "internal-imports-cmd",
          file: rel,
          line,
          message: `imports "${specifier}" from cmd/; internal/ must not depend on cmd/`,
        });
      }
      const toPkg = packageOf(target);
      if (toPkg && toPkg !== fromPkg && bypassesMod(rel, target, toPkg)) {
        violations.push({
          rule: "bypasses-mod",
          file: rel,
          line,
          message: `imports "${specifier}" from inside ${toPkg}; import it through ${toPkg}/mod.ts`,
        });
      }
      if (fromPkg && toPkg && toPkg !== fromPkg) {
        let edges = graph.get(fromPkg);
        if (!edges) graph.set(fromPkg, (edges = new Map()));
        if (!edges.has(toPkg)) edges.set(toPkg, { file: rel, line, specifier });
      }
    }
  }

  for (const cycle of findCycles(graph)) {
    const steps = cycle.map((pkg, i) => {
      const next = cycle[(i + 1) % cycle.length] as string;
      const edge = graph.get(pkg)?.get(next) as Edge;
      return { pkg, next, edge };
    });
    const first = steps[0]?.edge as Edge;
    const chain = [...cycle, cycle[0]].join(" -> ");
    const detail = steps.map((s) => `${s.edge.file}:${s.edge.line} imports "${s.edge.specifier}"`).join("; ");
    violations.push({
      rule: "package-cycle",
      file: first.file,
      line: first.line,
      message: `import cycle ${chain} (${detail})`,
    });
  }

  violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { violations, files, packages: [...packages].sort() };
}

/**
 * One cycle per strongly connected component of more than one package
 * (Tarjan), each starting at its alphabetically first package.
 */
export function findCycles(graph: Map<string, Map<string, unknown>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;

  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  return components.map((component) => {
    const members = new Set(component);
    const start = [...members].sort()[0] as string;
    // Shortest path start -> ... -> start inside the component (BFS).
    const prev = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift() as string;
      for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(prev.get(path[0] as string) as string);
          return path;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return component.sort();
  }).sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
  const { violations, files, packages } = checkImports(root);
  for (const v of violations) console.log(`${v.file}:${v.line}: ${v.message} [${v.rule}]`);
  if (violations.length > 0) {
    console.log(`check-imports: ${violations.length} violation(s) in ${files} files`);
    process.exitCode = 1;
  } else {
    console.log(`check-imports: ok (${files} files, ${packages.length} internal packages)`);
  }
}
