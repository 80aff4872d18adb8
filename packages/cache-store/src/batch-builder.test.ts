import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrModel, exportModel } from '@vql/model';
import { createRng, initBackend } from '@vql/runtime';
import { buildAllCaches, resolveWorkerEntry } from './batch-builder.js';
import { CtrCacheModel } from './cache-model.js';
import { CachedScorer, buildUserCache } from './cached-scorer.js';
import { userHistory } from './history-table.js';
import type { EventTableView } from '@vql/data';
import { encodeCache } from './codec.js';
import { MemoryCacheStore } from './memory-cache-store.js';
import { maxAbsDiff } from './testing/fixtures.js';

const NUM_ITEMS = 60;
const USERS = 40;

function makeTable(seed: number): EventTableView {
  const rng = createRng(seed);
  const lengths = Array.from({ length: USERS }, (_, u) => (u === 6 ? 0 : 1 + rng.int(150)));
  const userOffsets = new Int32Array(USERS + 2);
  for (let u = 1; u <= USERS; u++) userOffsets[u + 1] = userOffsets[u]! + lengths[u - 1]!;
  const E = userOffsets[USERS + 1]!;
  const time = new Float64Array(E);
  for (let u = 1; u <= USERS; u++) {
    let t = 1.7e9;
    for (let i = userOffsets[u]!; i < userOffsets[u + 1]!; i++) time[i] = t += rng.int(86400);
  }
  return {
    numEvents: E,
    userOffsets,
    item: Int32Array.from({ length: E }, () => 1 + rng.int(NUM_ITEMS)),
    time,
    eventContext: { play: Float32Array.from({ length: E }, () => rng.next()) },
    itemContext: { cat: Int32Array.from({ length: NUM_ITEMS + 1 }, (_, i) => (i === 0 ? 0 : 1 + (i % 5))) },
    schema: {
      context: [
        { name: 'cat', kind: 'categorical', scope: 'item', vocabSize: 5 },
        { name: 'play', kind: 'numeric', scope: 'event', boundaries: [0.5] },
      ],
    },
  };
}

describe('buildAllCaches', () => {
  let dir: string;
  let model: CtrModel;
  beforeAll(async () => {
    await initBackend();
    dir = mkdtempSync(join(tmpdir(), 'vql-build-'));
    model = new CtrModel({
      numItems: NUM_ITEMS,
      embeddingDim: 8,
      contextFeatures: [
        { name: 'cat', kind: 'categorical', scope: 'item', vocabSize: 5 },
        { name: 'play', kind: 'numeric', scope: 'event', boundaries: [0.5] },
      ],
      context: { logitBias: true },
      interest: { kind: 'vql', heads: 4, groups: 2, headDim: 4, codebookSizes: [8, 16], quantizer: { init: 'random' } },
      seed: 3,
    });
    await exportModel(model, dir);
  });
  afterAll(() => {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves the worker script from source under jest (the .ts through tsx)', () => {
    const entry = resolveWorkerEntry();
    expect(entry.file).toMatch(/build-worker\.ts$/);
    expect(entry.eval).toBe(true);
    expect(entry.script).toContain('tsx');
  });

  it('resolves the worker script of a built package (dist/build-worker.js, run directly)', () => {
    const dist = mkdtempSync(join(tmpdir(), 'vql-dist-'));
    try {
      writeFileSync(join(dist, 'build-worker.js'), '');
      const entry = resolveWorkerEntry(join(dist, 'batch-builder.js'));
      expect(entry).toEqual({ file: join(dist, 'build-worker.js'), script: join(dist, 'build-worker.js'), eval: false, execArgv: [] });
      expect(() => resolveWorkerEntry(join(dist, 'sub', 'batch-builder.js'))).toThrow(/is the package built/);
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });

  it('builds every user in 2 worker threads, resumes after an interruption, and matches caches built in-process', async () => {
    const table = makeTable(1);
    const store = new MemoryCacheStore();
    const first = await buildAllCaches({ modelDir: dir, table, store, workers: 2, chunkUsers: 4, limit: 15, progress: false });
    expect(first.built).toBe(15);
    expect(first.empty).toBe(1);
    expect(store.size).toBe(15);
    const second = await buildAllCaches({ modelDir: dir, table, store, workers: 2, chunkUsers: 4, progress: false });
    expect(second.skipped).toBe(15);
    expect(second.built).toBe(USERS - 1 - 15);
    expect(first.events + second.events).toBe(table.numEvents);
    expect(second.behavioursPerSecond).toBeGreaterThan(0);
    expect(second.fingerprint).toBe(model.fingerprint());
    expect(await store.get('7')).toBeUndefined(); // the empty user: no cache, scores as empty history

    const cm = new CtrCacheModel(model);
    const scorer = new CachedScorer(cm);
    const req = { items: Int32Array.of(1, 2, 3), time: 1.72e9, context: { cat: Int32Array.of(2, 3, 4) } };
    for (const u of [1, 20, 40]) {
      const local = buildUserCache(cm, userHistory(table, u));
      const stored = (await store.get(String(u)))!;
      expect(stored.eventCount).toBe(local.eventCount);
      expect(maxAbsDiff(scorer.score(stored, req), scorer.score(local, req))).toBeLessThan(1e-6);
    }
  });

  it('builds one shard of users (options.users, for queue jobs) and refuses a bad range', async () => {
    const table = makeTable(2);
    const store = new MemoryCacheStore();
    const shard = await buildAllCaches({ modelDir: dir, table, store, workers: 1, users: { from: 1, to: 11 }, progress: false });
    expect(shard.built + shard.empty).toBe(10);
    expect(await store.get('11')).toBeUndefined();
    const rest = await buildAllCaches({ modelDir: dir, table, store, workers: 1, users: { from: 11, to: USERS + 1 }, progress: false });
    expect(shard.events + rest.events).toBe(table.numEvents);
    await expect(buildAllCaches({ modelDir: dir, table, store, users: { from: 0, to: 3 } })).rejects.toThrow(/options.users must be \{ from, to \}/);
  });

  it('resume verifies every blob: junk and damaged bodies are reported and rebuilt, not counted as built', async () => {
    const table = makeTable(4);
    const store = new MemoryCacheStore();
    const first = await buildAllCaches({ modelDir: dir, table, store, workers: 1, chunkUsers: 8, progress: false });
    expect(first.built).toBe(USERS - 1);
    expect(first.corrupt).toEqual([]);
    const blobs = (store as unknown as { blobs: Map<string, Uint8Array> }).blobs;
    const good = (await store.getBlob('5'))!;
    const damaged = good.slice();
    damaged[good.length - 30]! ^= 0x40; // header intact: scan still lists it under this fingerprint
    blobs.set('5', damaged);
    blobs.set('3', Buffer.from('junk value'));
    blobs.set('not-a-user', Buffer.from('more junk'));
    // User 8's cache from before times were checked: one event in milliseconds.
    const loose = new CtrCacheModel(model, { timeBounds: { maxFutureSkew: Infinity } });
    const h8 = userHistory(table, 8);
    h8.times[0] = h8.times[0]! * 1000;
    blobs.set('8', encodeCache(buildUserCache(loose, h8)));
    loose.dispose();
    const again = await buildAllCaches({ modelDir: dir, table, store, workers: 1, chunkUsers: 8, progress: false });
    expect(again.built).toBe(3);
    expect(again.skipped).toBe(USERS - 4);
    expect(again.corrupt.map((c) => c.user).sort()).toEqual(['3', '5', '8', 'not-a-user']);
    expect(again.corrupt.find((c) => c.user === '8')!.reason).toMatch(/user "8": the cache's newest event has time .* rebuilding it\. It looks like milliseconds/);
    expect((await store.get('8'))!.lastEventTime).toBeLessThan(2e9);
    expect(again.corrupt.find((c) => c.user === '5')!.reason).toMatch(/checksum mismatch/);
    expect(again.corrupt.find((c) => c.user === '3')!.reason).toMatch(/not a VQL cache/);
    expect(Buffer.from((await store.getBlob('5'))!).equals(Buffer.from(good))).toBe(true); // repaired
    expect((await store.get('3'))!.eventCount).toBe(table.userOffsets[4]! - table.userOffsets[3]!);
  });

  it('a user with an impossible event time is reported and skipped; the others are built', async () => {
    const table = makeTable(5);
    const a = table.userOffsets[2]!;
    table.time[a] = table.time[a]! * 1000; // user 2's first event in milliseconds
    const store = new MemoryCacheStore();
    const report = await buildAllCaches({ modelDir: dir, table, store, workers: 1, chunkUsers: 8, progress: false });
    expect(report.failed).toEqual([{ user: '2', reason: expect.stringMatching(/history\.times\[0\] \(event 0\) has time .* It looks like milliseconds/) }]);
    expect(report.built).toBe(USERS - 2);
    expect(await store.get('2')).toBeUndefined();
    await expect(buildAllCaches({ modelDir: dir, table, store, workers: 1, progress: false, worker: 2 } as never)).rejects.toThrow(/unknown option "worker" \(did you mean "workers"\?\)/);
  });

  it('a model directory that does not exist fails with the path in the message', async () => {
    await expect(buildAllCaches({ modelDir: join(dir, 'missing'), table: makeTable(2), store: new MemoryCacheStore(), workers: 1, progress: false })).rejects.toThrow(
      /missing/,
    );
  });
});
