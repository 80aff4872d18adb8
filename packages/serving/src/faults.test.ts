import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedisServer } from '@vql/cache-store/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createServingApp } from './app.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { ServedModel } from './served-model.js';
import { modelNamespace } from './stores.js';
import { StreamConsumer } from './stream-consumer.js';
import { exportTestModel } from './testing/fixtures.js';

const NOW = Math.floor(Date.now() / 1000);
let server: TestRedisServer;
let redis: Redis;
let root: string;
let modelDir: string;
let served: ServedModel;
let lifecycle: ModelLifecycle;
let metrics: ServingMetrics;
let app: FastifyInstance;

beforeAll(async () => {
  server = await TestRedisServer.start();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  root = mkdtempSync(join(tmpdir(), 'vql-faults-'));
  ({ dir: modelDir } = await exportTestModel(31, root));
  served = await ServedModel.load(modelDir, { kind: 'redis', url: server.url }, { commandTimeoutMs: 500 });
  lifecycle = new ModelLifecycle(served);
  metrics = new ServingMetrics({ processMetrics: false });
  app = createServingApp({ lifecycle, metrics });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await lifecycle.close();
  redis.disconnect();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
const scoreBody = (user: string) => ({ user, candidates: Array.from({ length: 100 }, (_, i) => ({ item: 1 + i })) });

describe('faults', () => {
  it('Redis killed under load: 503 with a clear body while down, recovery without a restart, no acknowledged event lost', async () => {
    const stream = 'fault-events';
    for (let i = 0; i < 400; i++) await redis.xadd(stream, '*', 'user', `s${i % 8}`, 'item', String(1 + (i % 100)), 'time', String(NOW - 1000 + i));
    const consumer = new StreamConsumer({ url: server.url, stream, group: 'g', consumer: 'c', lifecycle, batchSize: 20, blockMs: 100, retryDelayMs: 50 });
    await consumer.start();
    // HTTP load: scores and event posts; a post answered 200 is acknowledged and must survive.
    let acknowledged = 0;
    let nextId = 1;
    const statuses = new Map<number, number>();
    // Score statuses in order, as a string: 200s while Redis is up, 503s while it is down, 200s again.
    let sequence = '';
    let bodyWhileDown: { error?: string; message?: string } | undefined;
    let running = true;
    const load = (async () => {
      while (running) {
        const s = await post('/v1/score', scoreBody(`h${nextId % 5}`));
        statuses.set(s.statusCode, (statuses.get(s.statusCode) ?? 0) + 1);
        sequence += s.statusCode === 200 ? 'u' : s.statusCode === 503 ? 'd' : 'x';
        if (s.statusCode === 503) bodyWhileDown = s.json();
        const id = nextId++;
        const e = await post('/v1/events', { user: `h${id % 5}`, events: [{ id, item: 1 + (id % 100), time: NOW - 500 + id / 1000 }] });
        if (e.statusCode === 200) acknowledged += e.json().applied;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await server.kill9();
    await new Promise((r) => setTimeout(r, 800));
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ ready: false, error: 'STORE_UNAVAILABLE' });
    await server.launch(); // same port and data dir (AOF, fsync always)
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await load;
    // Recovered: the same service answers again.
    expect((await post('/v1/score', scoreBody('h1'))).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    // Up, then down while killed, then up for good: no success during the outage, no 503 after recovery.
    expect(sequence).toMatch(/^u+d+u+$/);
    expect([...statuses.keys()].sort()).toEqual([200, 503]); // nothing but success or a clear 503
    expect(bodyWhileDown).toMatchObject({ error: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^The cache store is unavailable; retry later\. .*Redis at redis:\/\/127\.0\.0\.1:\d+ is unavailable/) });
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/vql_store_errors_total\{op="(score|append)",code="STORE_UNAVAILABLE"\} [1-9]/);
    // Every acknowledged HTTP event is in the caches, exactly once.
    let httpEvents = 0;
    for (let u = 0; u < 5; u++) httpEvents += (await served.store.get(`h${u}`))?.eventCount ?? 0;
    expect(httpEvents).toBe(acknowledged);
    // The stream consumer rode out the outage: all 400 entries applied once, none pending.
    const deadline = Date.now() + 20_000;
    let streamEvents = 0;
    while (Date.now() < deadline) {
      streamEvents = 0;
      for (let u = 0; u < 8; u++) streamEvents += (await served.store.get(`s${u}`))?.eventCount ?? 0;
      if (streamEvents === 400 && Number(((await redis.xpending(stream, 'g')) as [number])[0]) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await consumer.stop();
    expect(streamEvents).toBe(400);
  });

  it('a corrupt blob fails that user only, with a clear error and a counter', async () => {
    await post('/v1/events', { user: 'good', events: [{ id: 1, item: 3, time: NOW - 5 }] });
    await post('/v1/events', { user: 'broken', events: [{ id: 1, item: 3, time: NOW - 5 }] });
    const key = `vql:${modelNamespace(served.version)}:c:broken`;
    const blob = (await redis.getBuffer(key))!;
    blob[blob.length - 10] ^= 0xff; // one flipped byte in the body
    await redis.set(key, blob);
    const bad = await post('/v1/score', scoreBody('broken'));
    expect(bad.statusCode).toBe(500);
    expect(bad.json()).toMatchObject({ error: 'CORRUPT_CACHE', user: 'broken', message: expect.stringMatching(/user "broken"/) });
    expect((await post('/v1/score', scoreBody('good'))).json()).toMatchObject({ cache: 'hit', historyEvents: 1 });
    const batch = await post('/v1/score/batch', { requests: [scoreBody('good'), scoreBody('broken')] });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().results.map((r: { cache?: string; error?: string }) => r.cache ?? r.error)).toEqual(['hit', 'CORRUPT_CACHE']);
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/vql_corrupt_cache_total 2/);
  });

  it('SIGTERM drains the requests in flight, then exits 0', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@vql/source', join(__dirname, 'cli.ts'), 'serve', '--model', modelDir, '--store', server.url, '--port', String(port), '--log-level', 'warn'], {
      cwd: join(__dirname, '..'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('service did not become ready');
        await new Promise((r) => setTimeout(r, 100));
      }
      // A slow request (64 users × 1000 candidates) is in flight when SIGTERM arrives.
      const body = { requests: Array.from({ length: 64 }, (_, u) => ({ user: `d${u}`, candidates: Array.from({ length: 1000 }, (_, i) => ({ item: 1 + (i % 200) })) })) };
      const inFlight = fetch(`${url}/v1/score/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { results: unknown[] }).results).toHaveLength(64);
      expect(await exited).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // no longer listening
    } finally {
      child.kill('SIGKILL');
    }
  });
});
