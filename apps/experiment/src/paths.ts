import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The workspace root: the nearest folder above `from` with a pnpm-workspace.yaml. */
export function findRepoRoot(from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}

/** Where the user typed the command (pnpm runs scripts in the package folder but keeps INIT_CWD). */
export function userCwd(): string {
  return process.env['INIT_CWD'] ?? process.cwd();
}

export function resolveUserPath(path: string): string {
  return isAbsolute(path) ? path : resolve(userCwd(), path);
}

/** `--data-dir`, else `VQL_DATA_DIR`, else `../shared/datasets` next to the repository. */
export function defaultDataDir(): string {
  const fromEnv = process.env['VQL_DATA_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return resolveUserPath(fromEnv);
  return resolve(findRepoRoot(), '..', 'shared', 'datasets');
}
