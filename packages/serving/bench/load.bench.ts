// Load test on loopback: the real service (a child process, LMDB store) under autocannon at a
// fixed offered rate, 100 candidates per request, one cached user per request (1,000 users with
// 1,000 behaviours each). Bounded: each rate runs for --seconds (default 10) and stops by itself.
//
//   pnpm --filter @vql/serving load-test [-- --rates 200,500,1000 --seconds 10 --connections 16 --processes 1]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { CtrCacheModel, LmdbCacheStore, buildUserCache } from '@vql/cache-store';
import { exportModel } from '@vql/model';
import { createRng, initBackend } from '@vql/runtime';
import { modelNamespace } from '../src/stores.js';
import { NUM_ITEMS, benchModel, flag } from './bench-setup.js';

const RATES = (flag('--rates') ?? '200,500,1000').split(',').map(Number);
const SECONDS = Number(flag('--seconds') ?? 10);
const USERS = 1000;
// autocannon paces each connection separately; with many connections their requests arrive in
// bursts (64 at once at 200 req/s) and measure the burst, not the service: 16 suffice for 1000 req/s.
const CONNECTIONS = Number(flag('--connections') ?? 16);
const PROCESSES = flag('--processes') ?? '1';
const EVENTS = 1000;
const NOW = Math.floor(Date.now() / 1000);
const here = fileURLToPath(new URL('.', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'vql-load-'));
await initBackend();
const model = benchModel();
const modelDir = join(work, 'model');
const { fingerprint } = await exportModel(model, modelDir);
const cm = new CtrCacheModel(model);
model.dispose();
const store = new LmdbCacheStore({ path: join(work, 'caches', modelNamespace(fingerprint)) });
const rng = createRng(3);
for (let u = 0; u < USERS; u++) {
  const times = Float64Array.from({ length: EVENTS }, () => NOW - 1 - Math.floor(rng.next() * 365 * 86400));
  await store.put(`user-${u}`, buildUserCache(cm, { items: Int32Array.from({ length: EVENTS }, () => 1 + rng.int(NUM_ITEMS)), times }));
}
await store.close();
cm.dispose();
console.error(`caches of ${USERS} users × ${EVENTS} events written`);

const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@vql/source', join(here, '..', 'src', 'cli.ts'), 'serve', '--model', modelDir, '--store', `lmdb:${join(work, 'caches')}`, '--port', String(port), '--processes', PROCESSES, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
const url = `http://127.0.0.1:${port}`;
for (const deadline = Date.now() + 60_000; ; ) {
  if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
  if (Date.now() > deadline) throw new Error('the service did not become ready');
  await new Promise((r) => setTimeout(r, 200));
}

const bodies = Array.from({ length: 256 }, (_, i) =>
  JSON.stringify({ user: `user-${(i * 7919) % USERS}`, candidates: Array.from({ length: 100 }, () => ({ item: 1 + rng.int(NUM_ITEMS) })) }),
);
const rows: Array<Record<string, number>> = [];
try {
  // Warm-up (JIT, first reads of every cache), not reported.
  await autocannon({ url: `${url}/v1/score`, method: 'POST', headers: { 'content-type': 'application/json' }, connections: 4, amount: 2000, body: bodies[0]! });
  for (const rate of RATES) {
    let n = 0;
    const result = await autocannon({
      url: `${url}/v1/score`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: CONNECTIONS,
      overallRate: rate,
      duration: SECONDS,
      requests: [{ setupRequest: (req) => ({ ...req, body: bodies[n++ % bodies.length]! }) }],
    });
    rows.push({
      'offered req/s': rate,
      'achieved req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'max ms': result.latency.max,
      errors: result.errors + result.timeouts,
      'non-2xx': result.non2xx,
      requests: result.requests.total,
    });
    console.error(`${rate} req/s done`);
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
console.log(`POST /v1/score, 100 candidates, H=4 (2 groups), d_h=16, K=[64,256]; LMDB; ${SECONDS} s per rate, ${CONNECTIONS} connections, ${PROCESSES} server process(es), loopback`);
console.table(rows);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'load.json'), JSON.stringify({ seconds: SECONDS, candidates: 100, users: USERS, eventsPerUser: EVENTS, rows }, null, 2));
