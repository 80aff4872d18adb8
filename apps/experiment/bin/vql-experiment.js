#!/usr/bin/env node
// Runs the CLI from TypeScript sources through tsx, resolving @vql packages to their src.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const result = spawnSync(
  process.execPath,
  ['--conditions=@vql/source', '--import', 'tsx', join(here, '..', 'src', 'cli.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
