/**
 * Every package installs alone from the registry layout and its README example prints what the
 * README says. For each package under packages/: build, `pnpm pack` (workspace:* becomes the real
 * version), install the tarball with the tarballs of its @vql siblings (the rest from the npm
 * registry) into an empty temp project with npm, check the tarball carries LICENSE and README,
 * then run the README's `## Usage` snippet there (the repo's tsx, resolving only the installed
 * packages) and compare its output with the README's: an "Output" block right after the snippet,
 * else the `// comment` after each `console.log(...)`. `…` / `...` in an expected line match anything.
 *
 *   npx tsx scripts/check-packages.ts [name ...]     (default: every package)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pnpm = ['-y', 'pnpm@10.34.9'];
const tsx = join(root, 'node_modules', '.bin', 'tsx');
let workName = '';

interface Pkg {
  dir: string;
  name: string;
  version: string;
  deps: string[];
}

function readPkg(dir: string): Pkg {
  const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const deps = Object.keys({ ...json.dependencies, ...json.peerDependencies }).filter((d) => d.startsWith('@vql/'));
  return { dir, name: json.name, version: json.version, deps };
}

function siblingsOf(pkg: Pkg, all: Map<string, Pkg>): string[] {
  const out = new Set<string>();
  const visit = (p: Pkg): void => {
    for (const d of p.deps) {
      if (out.has(d)) continue;
      const dep = all.get(d);
      if (dep === undefined) throw new Error(`${p.name} depends on ${d}, which is not a package here`);
      out.add(d);
      visit(dep);
    }
  };
  visit(pkg);
  return [...out];
}

interface Example {
  code: string;
  /** Expected stdout lines (an Output block), or null to use the console.log comments. */
  output: string[] | null;
}

function readmeExample(pkg: Pkg): Example {
  const text = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  const usage = text.indexOf('\n## Usage');
  if (usage < 0) throw new Error(`${pkg.name}: README has no "## Usage" section`);
  const rest = text.slice(usage);
  const m = /```ts\n([\s\S]*?)```/.exec(rest);
  if (m === null) throw new Error(`${pkg.name}: README's Usage has no \`\`\`ts snippet`);
  const after = rest.slice(m.index + m[0].length);
  const out = /^\s*\n(Output[^\n]*)\n+```[a-z]*\n([\s\S]*?)```/.exec(after);
  return { code: m[1]!, output: out === null ? null : out[2]!.replace(/\n$/, '').split('\n') };
}

/** `console.log(x); // expected` → record each call's formatted text and the expectation. */
function expectations(code: string): { code: string; expected: Array<string | null> } {
  const expected: Array<string | null> = [];
  const lines = code.split('\n').map((line) => {
    if (!/^\s*console\.log\(/.test(line)) return line;
    const comment = /\);\s*\/\/ (.*)$/.exec(line);
    // The value is the comment up to an explanation after two spaces or " — ".
    expected.push(comment === null ? null : comment[1]!.split(/\s{2,}| — /)[0]!.trim());
    return line;
  });
  return { code: lines.join('\n'), expected };
}

function matches(actual: string, expected: string): boolean {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  const pattern = norm(expected)
    .split(/…|\.\.\./)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s*'))
    .join('.*?');
  return new RegExp(`^${pattern}`, 's').test(norm(actual));
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const all = new Map<string, Pkg>();
  for (const d of readdirSync(join(root, 'packages')).sort()) {
    const dir = join(root, 'packages', d);
    if (existsSync(join(dir, 'package.json'))) {
      const p = readPkg(dir);
      all.set(p.name, p);
    }
  }
  const targets = [...all.values()].filter((p) => wanted.length === 0 || wanted.includes(p.name) || wanted.includes(p.name.replace('@vql/', '')));
  if (targets.length === 0) throw new Error(`no package matches ${wanted.join(', ')}`);

  const work = mkdtempSync(join(tmpdir(), 'vql-check-packages-'));
  workName = basename(work);
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const started = performance.now();
  const needed = new Set(targets.flatMap((p) => [p.name, ...siblingsOf(p, all)]));
  console.log(`building and packing ${needed.size} packages into ${tarballs}`);
  const filters = [...needed].flatMap((n) => ['--filter', n]);
  // turbo: dependency order, in parallel, and cached (after `pnpm test` most builds are hits).
  // The root `build` script is turbo (which needs pnpm on its PATH, as under `pnpm run`).
  run('npx', [...pnpm, 'run', 'build', ...[...needed].map((n) => `--filter=${n}`), '--output-logs=errors-only'], root);
  run('npx', [...pnpm, '-r', ...filters, 'pack', '--pack-destination', tarballs], root);
  const tarballOf = new Map<string, string>();
  for (const name of needed) {
    const p = all.get(name)!;
    const file = join(tarballs, `${name.replace('@', '').replace('/', '-')}-${p.version}.tgz`);
    if (!existsSync(file)) throw new Error(`${name}: pnpm pack wrote no ${file}`);
    tarballOf.set(name, file);
    const listing = run('tar', ['-tzf', file], work);
    for (const f of ['package/LICENSE', 'package/README.md', 'package/package.json']) {
      if (!listing.split('\n').includes(f)) throw new Error(`${name}: ${f} missing from the tarball`);
    }
    const manifest = JSON.parse(run('tar', ['-xzOf', file, 'package/package.json'], work)) as { dependencies?: Record<string, string> };
    const ws = Object.entries(manifest.dependencies ?? {}).filter(([, v]) => v.startsWith('workspace:'));
    if (ws.length > 0) throw new Error(`${name}: packed manifest still has workspace: ranges (${ws.map(([k]) => k).join(', ')})`);
  }
  console.log(`built and packed in ${((performance.now() - started) / 1000).toFixed(0)} s; installing into empty projects`);

  const failures: string[] = [];
  const installs = targets.map((p) => {
    const project = join(work, p.name.replace('@vql/', ''));
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'check', private: true, type: 'module' }));
    const files = [p.name, ...siblingsOf(p, all)].map((n) => tarballOf.get(n)!);
    return { p, project, files, args: ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...files] };
  });
  // npm waits on the network and the disk more than on the CPU: three at a time.
  const installErrors = new Map<string, string>();
  await pool(installs, 3, async (job) => {
    const r = await spawnAsync('npm', job.args, job.project);
    if (r.status !== 0) installErrors.set(job.p.name, r.stderr);
  });
  console.log(`installed in ${((performance.now() - started) / 1000).toFixed(0)} s; running the README examples`);

  for (const { p, project, files: install } of installs) {
    const t0 = performance.now();
    if (installErrors.has(p.name)) {
      failures.push(`${p.name}: npm install failed:\n${installErrors.get(p.name)}`);
      continue;
    }
    const example = readmeExample(p);
    const { code, expected } = expectations(example.code);
    const dataDir = process.env['VQL_DATA_DIR'] ?? resolve(root, '..', 'shared', 'datasets');
    if (/\bloadDataset\(/.test(code) && !existsSync(dataDir) && process.env['CI'] !== 'true') {
      // A checkout without the shared datasets (CI always has them: there this is a failure).
      console.log(`skip ${p.name}: its README example loads a real dataset and ${dataDir} does not exist (set VQL_DATA_DIR)`);
      continue;
    }
    writeFileSync(join(project, 'example.ts'), code);
    // Outside the repo: no `@vql/source` condition, no workspace links, so only the installed
    // tarballs (and their registry dependencies) can be imported.
    const res = spawnSync(tsx, ['example.ts'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, VQL_DATA_DIR: dataDir },
      timeout: 180_000,
    });
    if (res.status !== 0) {
      failures.push(`${p.name}: README example failed (exit ${res.status}):\n${(res.stderr || res.stdout).split('\n').slice(0, 12).join('\n')}`);
      continue;
    }
    const printed = res.stdout.replace(/\n$/, '').split('\n');
    const problems: string[] = [];
    if (example.output !== null) {
      if (printed.length !== example.output.length) problems.push(`printed ${printed.length} lines, the README's Output block has ${example.output.length}`);
      example.output.forEach((want, i) => {
        if (printed[i] !== undefined && !matches(printed[i]!, want)) problems.push(`line ${i + 1}: README says\n      ${want}\n    printed\n      ${printed[i]}`);
      });
    } else {
      // One console.log per call; util.inspect output of one call may span lines: join them back.
      const calls = splitCalls(res.stdout);
      expected.forEach((want, i) => {
        if (want !== null && calls[i] !== undefined && !matches(calls[i]!, want)) problems.push(`console.log #${i + 1}: README says\n      ${want}\n    printed\n      ${calls[i]!.replace(/\s+/g, ' ')}`);
      });
      if (calls.length < expected.length) problems.push(`printed ${calls.length} outputs for ${expected.length} console.log calls`);
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (problems.length > 0) failures.push(`${p.name}: README output differs:\n    ${problems.join('\n    ')}\n  it printed:\n${res.stdout}`);
    else console.log(`ok ${p.name} (with ${install.length - 1} sibling tarball${install.length === 2 ? '' : 's'}; ${example.output?.length ?? expected.filter((e) => e !== null).length} outputs checked; ${secs} s)`);
  }
  // ~2 GB of node_modules: removed in the background so the result is not held up by the disk.
  spawn('rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref();
  const total = ((performance.now() - started) / 1000).toFixed(0);
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAIL ${f}`);
    console.error(`${targets.length - failures.length} of ${targets.length} packages passed (${total} s)`);
    process.exit(1);
  }
  console.log(`${targets.length} packages install alone and print their README output (${total} s)`);
}

/**
 * Splits stdout into console.log outputs: a line that starts a new top-level value begins a
 * new output; continuation lines of a multi-line inspect (indented or closing brackets) join the
 * previous one.
 */
function splitCalls(stdout: string): string[] {
  const lines = stdout.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let depth = 0;
  for (const line of lines) {
    if (depth > 0 && out.length > 0) out[out.length - 1] += `\n${line}`;
    else out.push(line);
    for (const ch of line.replace(/'(?:[^'\\]|\\.)*'/g, '')) {
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') depth--;
    }
    if (depth < 0) depth = 0;
  }
  return out;
}

function spawnAsync(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => done({ status, stderr }));
  });
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

main().catch((error: unknown) => {
  if (workName !== '') spawn('rm', ['-rf', join(tmpdir(), workName)], { detached: true, stdio: 'ignore' }).unref();
  const e = error as Error & { stderr?: string };
  console.error(`check-packages: ${e.message}${e.stderr ? `\n${e.stderr}` : ''}`);
  process.exit(1);
});
