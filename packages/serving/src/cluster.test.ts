import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedisCluster } from '@vql/cache-store/testing';
import { generateSynthetic } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { createServingApp } from './app.js';
import { buildModelCaches, isComplete, tableUserKey } from './build.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServedModel } from './served-model.js';
import { describeStore, parseStoreSpec } from './stores.js';
import { exportTestModel } from './testing/fixtures.js';

let cluster: TestRedisCluster;
let root: string;

beforeAll(async () => {
  cluster = await TestRedisCluster.start(3);
  root = mkdtempSync(join(tmpdir(), 'vql-cluster-'));
});

afterAll(async () => {
  await cluster.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('serving on a Redis Cluster (three local masters)', () => {
  it('builds, serves and ingests through redis-cluster://node,node,node', async () => {
    const text = `redis-cluster://${cluster.nodes.map((u) => u.slice('redis://'.length)).join(',')}`;
    const spec = parseStoreSpec(text);
    expect(spec).toEqual({ kind: 'redis-cluster', nodes: cluster.nodes });
    expect(describeStore(spec)).toBe(`redis-cluster: ${cluster.nodes.join(',')}`);
    const table = generateSynthetic(tinySyntheticConfig).table;
    const { dir, fingerprint } = await exportTestModel(41, root, table.rawItemId.length - 1);
    const report = await buildModelCaches({ modelDir: dir, table, spec, fingerprint, workers: 1 });
    expect(report.events).toBe(table.numEvents);
    expect(await isComplete(spec, fingerprint)).toBe(true);

    const lifecycle = new ModelLifecycle(await ServedModel.load(dir, spec));
    const app = createServingApp({ lifecycle });
    try {
      const user = tableUserKey(table)(3);
      const events = table.userOffsets[4]! - table.userOffsets[3]!;
      const now = Math.floor(Date.now() / 1000);
      const scored = await app.inject({ method: 'POST', url: '/v1/score', payload: { user, candidates: [{ item: 1 }, { item: 2 }] } });
      expect(scored.json()).toMatchObject({ model: fingerprint, cache: 'hit', historyEvents: events });
      const payload = { user, events: [{ id: 'c-1', item: 5, time: now - 1 }] };
      expect((await app.inject({ method: 'POST', url: '/v1/events', payload })).json()).toMatchObject({ applied: 1 });
      expect((await app.inject({ method: 'POST', url: '/v1/events', payload })).json()).toMatchObject({ applied: 0, duplicates: ['c-1'] });
      expect((await app.inject({ method: 'POST', url: '/v1/score', payload: { user, candidates: [{ item: 1 }] } })).json().historyEvents).toBe(events + 1);
      expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ ready: true, store: 'redis' });
    } finally {
      await app.close();
      await lifecycle.close();
    }
  });
});
