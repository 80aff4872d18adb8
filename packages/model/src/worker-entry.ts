import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How to start the worker thread script `<name>.js` that sits beside this module: the compiled
 * file when it exists (dist), else its TypeScript source with tsx registered inside the worker
 * before the import (tests and benches run from source).
 */
export function workerEntry(name: string): { script: string; eval: boolean; execArgv: string[] } {
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const dir = dirname(here);
  const js = join(dir, `${name}.js`);
  if (existsSync(js)) return { script: js, eval: false, execArgv: [] };
  const ts = join(dir, `${name}.ts`);
  const api = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return { script: `import(${JSON.stringify(api)}).then((api) => { api.register(); return import(${JSON.stringify(pathToFileURL(ts).href)}); });`, eval: true, execArgv: ['--conditions=@vql/source'] };
}
