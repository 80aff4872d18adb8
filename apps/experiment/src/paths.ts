import { isAbsolute, resolve } from 'node:path';
import { findRepoRoot } from '@vql/data';

/** Where the user typed the command (pnpm runs scripts in the package folder but keeps INIT_CWD). */
export function userCwd(): string {
  return process.env['INIT_CWD'] ?? process.cwd();
}

export function resolveUserPath(path: string): string {
  return isAbsolute(path) ? path : resolve(userCwd(), path);
}

/** The workspace root (@vql/data's lookup), or the user's folder outside a checkout. */
export function repoRoot(): string {
  return findRepoRoot() ?? userCwd();
}

/**
 * `VQL_DATA_DIR` (relative to where the user typed the command — unlike @vql/data's default,
 * which resolves against the process's folder, the package folder under `pnpm experiment`),
 * else `../shared/datasets` next to the repository.
 */
export function defaultDataDir(): string {
  const fromEnv = process.env['VQL_DATA_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return resolveUserPath(fromEnv);
  return resolve(repoRoot(), '..', 'shared', 'datasets');
}
