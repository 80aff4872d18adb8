import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedisServer } from '@vql/cache-store/testing';
import { generateSynthetic, saveEventTable } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { isComplete, tableUserKey } from './build.js';
import { enqueueBuild, queueConnection, startBuildWorker } from './build-queue.js';
import { ServedModel } from './served-model.js';
import { exportTestModel } from './testing/fixtures.js';

let server: TestRedisServer;
let root: string;

beforeAll(async () => {
  server = await TestRedisServer.start();
  root = mkdtempSync(join(tmpdir(), 'vql-queue-'));
});

afterAll(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('BullMQ cache builds', () => {
  it('spreads one model build over two queue workers in shards, then records it complete', async () => {
    const table = generateSynthetic(tinySyntheticConfig).table;
    const eventsDir = join(root, 'events');
    saveEventTable(table, eventsDir);
    const { dir, fingerprint } = await exportTestModel(5, root, table.rawItemId.length - 1);
    const workers = [startBuildWorker({ queueUrl: server.url, threads: 1 }), startBuildWorker({ queueUrl: server.url, threads: 1 })];
    const processed = new Map<number, number>();
    workers.forEach((w, i) => w.on('completed', () => processed.set(i, (processed.get(i) ?? 0) + 1)));
    try {
      expect(await isComplete({ kind: 'redis', url: server.url }, fingerprint)).toBe(false);
      const users = table.userOffsets.length - 2;
      const r = await enqueueBuild({ queueUrl: server.url, modelDir: dir, eventsDir, store: server.url, fingerprint, users, shardUsers: 8 });
      expect(r.built).toBe(users);
      expect(r.events).toBe(table.numEvents);
      expect([...processed.values()].reduce((a, b) => a + b, 0)).toBe(Math.ceil(users / 8));
      expect(await isComplete({ kind: 'redis', url: server.url }, fingerprint)).toBe(true);
      const served = await ServedModel.load(dir, { kind: 'redis', url: server.url });
      try {
        const key = tableUserKey(table);
        for (const u of [1, 9, users]) expect((await served.store.get(key(u)))!.eventCount).toBe(table.userOffsets[u + 1]! - table.userOffsets[u]!);
      } finally {
        await served.close();
      }
      // A rerun (a retried job, a second enqueue) skips what is built.
      const again = await enqueueBuild({ queueUrl: server.url, modelDir: dir, eventsDir, store: server.url, fingerprint, users, shardUsers: 16 });
      expect(again).toMatchObject({ built: 0, skipped: users });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  it('refuses a queue URL that is not Redis, naming the option', () => {
    expect(() => queueConnection('http://x')).toThrow(/--queue "http:\/\/x": expected redis:\/\/ or rediss:\/\//);
    expect(queueConnection('redis://:pw@h:7000/2')).toMatchObject({ host: 'h', port: 7000, db: 2, password: 'pw' });
  });
});
