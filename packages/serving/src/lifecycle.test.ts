import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheFingerprintMismatchError } from '@vql/cache-store';
import { generateSynthetic } from '@vql/data';
import type { EventTable } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import type { FastifyInstance } from 'fastify';
import { createServingApp } from './app.js';
import { buildModelCaches, isComplete, tableUserKey } from './build.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { switchModel } from './model-switch.js';
import { ServedModel } from './served-model.js';
import type { StoreSpec } from './stores.js';
import { exportTestModel } from './testing/fixtures.js';

let root: string;
let table: EventTable;
let spec: StoreSpec;
let dirA: string;
let dirB: string;
let dirC: string;
let lifecycle: ModelLifecycle;
let app: FastifyInstance;
let allowBuild = true;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'vql-lifecycle-'));
  table = generateSynthetic(tinySyntheticConfig).table;
  const numItems = table.rawItemId.length - 1;
  [dirA, dirB, dirC] = await Promise.all([1, 2, 3].map(async (seed) => (await exportTestModel(seed, root, numItems)).dir));
  spec = { kind: 'lmdb', path: join(root, 'caches') };
  const a = await ServedModel.load(dirA, spec);
  await buildModelCaches({ modelDir: dirA, table, spec, fingerprint: a.version, workers: 1 });
  lifecycle = new ModelLifecycle(a);
  app = createServingApp({
    lifecycle,
    metrics: new ServingMetrics({ processMetrics: false }),
    switchModel: (dir) => switchModel(lifecycle, { modelDir: dir, spec, ...(allowBuild ? { table } : {}), workers: 1 }),
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await lifecycle.close();
  rmSync(root, { recursive: true, force: true });
});

const NOW = Math.floor(Date.now() / 1000);
const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

describe('model lifecycle', () => {
  it('serves the old version while the new one builds, then flips atomically; never mixes versions or weights', async () => {
    const key = tableUserKey(table);
    const user = key(1);
    const other = key(2);
    const a = lifecycle.active!;
    const request = { user, candidates: [1, 2, 3, 4, 5].map((item) => ({ item })), time: NOW };
    const scoreA = (await post('/v1/score', request)).json().probabilities as number[];
    const otherEventsA = (await a.store.get(other))!.eventCount;

    const seen: Array<{ model: string; probabilities: number[]; status: number }> = [];
    let flipping = true;
    let posted = false;
    const load = (async () => {
      while (flipping) {
        const r = await post('/v1/score', request);
        seen.push({ ...r.json(), status: r.statusCode });
        if (!posted && seen.length === 3) {
          // An event during the build: applied to the old version now, replayed into the new one.
          posted = true;
          expect((await post('/v1/events', { user: other, events: [{ id: 'during-switch', item: 7, time: NOW - 1 }] })).json()).toMatchObject({ model: a.version, applied: 1 });
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const res = await post('/v1/admin/model', { dir: dirB });
    flipping = false;
    await load;
    expect(res.statusCode).toBe(200);
    const b = lifecycle.active!;
    expect(res.json()).toEqual({ model: b.version, previous: a.version });
    expect(b.version).not.toBe(a.version);
    expect(await isComplete(spec, b.version)).toBe(true);

    const scoreB = (await post('/v1/score', request)).json().probabilities as number[];
    expect(scoreB).not.toEqual(scoreA);
    // Every answer came wholly from one version: A's scores until the flip, B's after, never back.
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((s) => s.status === 200)).toBe(true);
    const firstB = seen.findIndex((s) => s.model === b.version);
    seen.forEach((s, i) => {
      if (firstB < 0 || i < firstB) expect(s).toMatchObject({ model: a.version, probabilities: scoreA });
      else expect(s).toMatchObject({ model: b.version, probabilities: scoreB });
    });
    // B's caches: built from the table with B's weights, plus the event that arrived during the build.
    const cacheB = (await b.store.get(other))!;
    expect(cacheB.fingerprint).toBe(b.version);
    expect(cacheB.eventCount).toBe(otherEventsA + 1);
    expect(() => b.scorer.score(cacheB, { items: Int32Array.of(1), time: NOW })).not.toThrow();
    const cacheA = await (await ServedModel.load(dirA, { kind: 'lmdb', path: join(root, 'caches') })).store.get(other);
    expect(cacheA!.eventCount).toBe(otherEventsA + 1); // the old version got it too
    expect(() => b.scorer.score(cacheA, { items: Int32Array.of(1), time: NOW })).toThrow(CacheFingerprintMismatchError);
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ ready: true, model: b.version });
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/vql_model_flips_total 1/);
  });

  it('refuses to switch to a model whose caches are not built (and cannot be), leaving the active version', async () => {
    allowBuild = false;
    const before = lifecycle.active!.version;
    const res = await post('/v1/admin/model', { dir: dirC });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/The caches of model [0-9a-f]{16} are not built under lmdb:.*run `vql-serve build/);
    expect(lifecycle.active!.version).toBe(before);
    expect((await post('/v1/score', { user: 'x', candidates: [{ item: 1 }] })).json().model).toBe(before);
    allowBuild = true;
  });
});
