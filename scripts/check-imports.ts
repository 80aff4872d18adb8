/**
 * Two checks over every workspace package (packages/*, apps/*), from the sources alone:
 *
 * 1. No import loop inside a package: the graph of relative imports between its files (type-only
 *    imports and re-exports included: a loop of types is still a loop for the reader) has no
 *    cycle. Each loop found is printed as `a.ts → b.ts → a.ts`.
 * 2. Declared dependencies match imports: every bare import of a shipped file (src/**, except
 *    tests, and src/testing/** only when the package exports `./testing`) is in `dependencies`;
 *    every bare import of a test, bench or unexported test helper is in `dependencies` or
 *    `devDependencies`; and every declared dependency is imported by a shipped file (a
 *    devDependency by some file; `@types/x` counts as used when `x` is). A dependency declared
 *    on purpose without an import (a pin of a transitive one) is listed with its reason under
 *    `"vqlChecks": { "dependenciesNotImported": { name: reason } }` in that package.json.
 *
 *   npx tsx scripts/check-imports.ts      (exit 1 and one line per problem when a check fails)
 */
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const builtins = new Set(builtinModules);

interface Manifest {
  name: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  /** Declared on purpose without an import, each with its reason (e.g. a pin of a transitive dependency). */
  vqlChecks?: { dependenciesNotImported?: Record<string, string> };
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|js|mjs|cjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier of a file: imports, `import type`, re-exports, dynamic `import()`, `require`. */
export function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The package a bare specifier names (`@vql/baselines/online` → `@vql/baselines`), or null for relative / builtin ones. */
export function packageOf(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** The file a relative specifier resolves to (`./x.js` → `./x.ts`, a folder → its index), or null. */
function resolveRelative(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.js`, join(base, 'index.ts'), join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Strongly connected components of size > 1 (or self-loops): the import loops (Tarjan). */
export function importLoops(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const loops: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) loops.push(scc.reverse());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return loops;
}

/** One cycle through the files of a loop, for the message: a → b → … → a. */
function cycleThrough(loop: string[], graph: Map<string, string[]>): string[] {
  const members = new Set(loop);
  const start = loop[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...loop, start];
}

function isTestFile(rel: string): boolean {
  return /\.test\.[cm]?[jt]s$/.test(rel) || rel.startsWith('bench/') || rel.startsWith('test/');
}

function checkPackage(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
  const name = manifest.name;
  const problems: string[] = [];
  const files = [...walk(join(dir, 'src')), ...walk(join(dir, 'bench')), ...walk(join(dir, 'bin'))];
  const exportsTesting = manifest.exports !== undefined && './testing' in manifest.exports;
  const deps = new Set(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }));
  const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
  const usedShipped = new Set<string>();
  const usedAny = new Set<string>();
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const rel = relative(dir, file);
    // Shipped: what a consumer of the package runs (src without tests; src/testing when exported).
    const shipped = rel.startsWith('src/') && !isTestFile(rel) && (exportsTesting || !rel.startsWith('src/testing/')) ;
    const edges: string[] = [];
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target !== null && target.startsWith(dir)) edges.push(target);
        continue;
      }
      const pkg = packageOf(spec);
      if (pkg === null || pkg === name) continue;
      usedAny.add(pkg);
      if (shipped) {
        usedShipped.add(pkg);
        if (!deps.has(pkg)) problems.push(`${name}: ${rel} imports ${spec}, but ${pkg} is not in "dependencies"${devDeps.has(pkg) ? ' (only in devDependencies)' : ''}`);
      } else if (!deps.has(pkg) && !devDeps.has(pkg)) {
        problems.push(`${name}: ${rel} imports ${spec}, but ${pkg} is not declared (devDependencies is enough for tests, benches and test helpers)`);
      }
    }
    graph.set(file, edges);
  }
  const pinned = manifest.vqlChecks?.dependenciesNotImported ?? {};
  for (const dep of deps) {
    if (!usedShipped.has(dep) && !(dep in pinned)) {
      problems.push(`${name}: "dependencies" lists ${dep}, which no shipped file imports${usedAny.has(dep) ? ' (only tests, benches or test helpers do: move it to devDependencies)' : ''}`);
    }
  }
  for (const dep of devDeps) {
    const typed = dep.startsWith('@types/') ? dep.slice('@types/'.length).replace(/^(.*)__(.*)$/, '@$1/$2') : null;
    if (!usedAny.has(dep) && (typed === null || !usedAny.has(typed))) problems.push(`${name}: "devDependencies" lists ${dep}, which nothing in src, bench or bin imports`);
  }
  for (const loop of importLoops(graph)) {
    problems.push(`${name}: import loop ${cycleThrough(loop, graph).map((f) => relative(dir, f)).join(' → ')}`);
  }
  return problems;
}

function workspacePackages(): string[] {
  const dirs: string[] = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base).sort()) if (existsSync(join(base, entry, 'package.json'))) dirs.push(join(base, entry));
  }
  return dirs;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dirs = workspacePackages();
  const problems = dirs.flatMap(checkPackage);
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? `check-imports: ${dirs.length} packages, no import loop, declared dependencies match imports` : `check-imports: ${problems.length} problem(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
