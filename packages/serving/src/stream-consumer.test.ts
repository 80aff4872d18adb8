import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedisServer } from '@vql/cache-store/testing';
import { Redis } from 'ioredis';
import { ModelLifecycle } from './lifecycle.js';
import { ServedModel } from './served-model.js';
import { StreamConsumer, parseStreamEntry, streamEventId } from './stream-consumer.js';
import { exportTestModel } from './testing/fixtures.js';

const NOW = Math.floor(Date.now() / 1000);
let server: TestRedisServer;
let redis: Redis;
let root: string;
let modelDir: string;

beforeAll(async () => {
  server = await TestRedisServer.start();
  redis = new Redis(server.url);
  root = mkdtempSync(join(tmpdir(), 'vql-stream-'));
  ({ dir: modelDir } = await exportTestModel(21, root));
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

/** XADDs `n` events spread over `users` users; returns the entry ids. */
async function produce(stream: string, n: number, users: number, first = 0, prefix = 'u'): Promise<string[]> {
  const ids: string[] = [];
  const pipe = redis.pipeline();
  for (let i = first; i < first + n; i++) pipe.xadd(stream, '*', 'user', `${prefix}${i % users}`, 'item', String(1 + (i % 150)), 'time', String(NOW - 100_000 + i));
  for (const [err, id] of (await pipe.exec())!) {
    if (err) throw err;
    ids.push(id as string);
  }
  return ids;
}

/** Σ eventCount over the users' caches: every distinct event exactly once, or the test fails. */
async function totalEvents(m: ServedModel, users: number, prefix = 'u'): Promise<number> {
  let total = 0;
  for (let u = 0; u < users; u++) total += (await m.store.get(`${prefix}${u}`))?.eventCount ?? 0;
  return total;
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pending = async (stream: string, group: string) => Number(((await redis.xpending(stream, group)) as [number])[0]);

describe('stream entries', () => {
  it('take the producer id when given, else an increasing number from the entry id', () => {
    expect(streamEventId('1700000000123-4', undefined)).toBe(1700000000123004);
    expect(streamEventId('1700000000123-4', '42')).toBe(42);
    expect(streamEventId('1700000000123-4', 'click-9')).toBe('click-9');
    expect(parseStreamEntry('1-0', ['user', 'u', 'item', '3', 'time', '1750000000', 'context', '{"c":2}'])).toEqual({ user: 'u', event: { id: 1000, item: 3, time: 1.75e9, context: { c: 2 } } });
    expect(() => parseStreamEntry('1-0', ['user', 'u', 'item', 'x', 'time', '1'])).toThrow(/stream entry 1-0: field "item" must be an integer/);
    expect(() => parseStreamEntry('1-0', ['item', '3', 'time', '1'])).toThrow(/field "user" is required/);
  });
});

describe('StreamConsumer', () => {
  it('applies every event once under redelivery (appended but not acknowledged), producer retries and bad entries', async () => {
    const served = await ServedModel.load(modelDir, { kind: 'redis', url: server.url });
    const lifecycle = new ModelLifecycle(served);
    const stream = 'events-a';
    await produce(stream, 600, 12);
    // A producer retry: the same event (same id field) XADDed twice is one event.
    await redis.xadd(stream, '*', 'user', 'u0', 'item', '7', 'time', String(NOW - 10), 'id', 'retry-1');
    await redis.xadd(stream, '*', 'user', 'u0', 'item', '7', 'time', String(NOW - 10), 'id', 'retry-1');
    // Bad data goes to the dead-letter stream, acknowledged, never retried.
    await redis.xadd(stream, '*', 'user', 'u1', 'item', '3', 'time', String(NOW * 1000));
    await redis.xadd(stream, '*', 'user', 'u1', 'item', '4', 'time', String(NOW - 5)); // same user, good: applied
    await redis.xadd(stream, '*', 'user', 'u1', 'item', 'not-a-number', 'time', String(NOW));
    let crashes = 0;
    const consumer = new StreamConsumer({
      url: server.url, stream, group: 'g', consumer: 'c1', lifecycle, batchSize: 100, blockMs: 100, retryDelayMs: 10,
      // The first three batches "crash" after their appends and before XACK: they are delivered again.
      beforeAck: () => {
        if (crashes++ < 3) throw new Error('crash before XACK');
      },
    });
    await consumer.start();
    await waitFor('the stream to drain', async () => consumer.counts.acked === 605 && (await pending(stream, 'g')) === 0);
    await consumer.stop();
    expect(consumer.counts.failures).toBe(3);
    expect(consumer.counts.duplicates).toBe(300 + 1); // three redelivered batches of 100, and the producer retry
    expect(consumer.counts.applied).toBe(602);
    expect(consumer.counts.deadLettered).toBe(2);
    expect(await totalEvents(served, 12)).toBe(602);
    const dead = await redis.xrange(`${stream}:dead`, '-', '+');
    expect(dead.map(([, f]) => f[f.indexOf('error') + 1])).toEqual([expect.stringMatching(/field "item" must be an integer/), expect.stringMatching(/looks like milliseconds/)]);
    await lifecycle.close();
  });

  it('loses nothing acknowledged and doubles nothing across a kill -9 of the consumer process and its restart', async () => {
    const stream = 'events-b';
    const consume = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', '--conditions=@vql/source', join(__dirname, 'cli.ts'), 'consume', '--model', modelDir, '--store', server.url, '--stream', stream, '--group', 'g', '--consumer', 'worker-1', '--batch-size', '10', '--log-level', 'warn'], {
        cwd: join(__dirname, '..'),
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
    let child = consume();
    await produce(stream, 1500, 20, 0, 'b');
    // Kill it while it works: some entries acknowledged, some appended and not acknowledged, some unread.
    const entriesRead = async () => {
      const info = ((await redis.xinfo('GROUPS', stream)) as string[][])[0]!;
      return Number(info[info.indexOf('entries-read') + 1]);
    };
    await waitFor('the consumer to read some entries', async () => (await entriesRead()) > 100);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const readBeforeKill = await entriesRead();
    const acknowledgedBeforeKill = readBeforeKill - (await pending(stream, 'g'));
    expect(readBeforeKill).toBeLessThan(1500); // it died mid-stream
    // It acknowledges batch by batch: at the kill, at most one batch (10) was read and not yet acknowledged.
    expect(acknowledgedBeforeKill).toBeGreaterThanOrEqual(readBeforeKill - 10);
    await produce(stream, 500, 20, 1500, 'b');
    child = consume(); // same consumer name: re-reads its own unacknowledged entries first
    const served = await ServedModel.load(modelDir, { kind: 'redis', url: server.url });
    try {
      await waitFor('the stream to drain', async () => (await pending(stream, 'g')) === 0 && (await totalEvents(served, 20, 'b')) >= 2000, 60_000);
      expect(await totalEvents(served, 20, 'b')).toBe(2000);
      expect(acknowledgedBeforeKill).toBeGreaterThan(0);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      expect(await pending(stream, 'g')).toBe(0);
      expect(await totalEvents(served, 20, 'b')).toBe(2000);
    } finally {
      child.kill('SIGKILL');
      await served.close();
    }
  });
});
