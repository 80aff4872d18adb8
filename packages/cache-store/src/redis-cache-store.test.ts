import { Redis } from 'ioredis';
import { RedisCacheStore } from './redis-cache-store.js';
import { TestRedisServer, redisServerBinary } from './redis-test-utils.js';
import { describeStoreContract } from './store-contract-test-utils.js';
import { KERNEL, LAYOUT, randomEvents } from './test-utils.js';
import { buildFromEncoded } from './user-cache.js';

// At load time: without redis-server (and no way to install it) this file fails once, in one line.
redisServerBinary();

let server: TestRedisServer;
let prefixes = 0;
beforeAll(async () => {
  server = await TestRedisServer.start();
});
afterAll(async () => {
  await server.stop();
});

describeStoreContract('RedisCacheStore', {
  // A fresh key prefix per test keeps tests independent on one server.
  create: async () => RedisCacheStore.connect({ url: server.url, keyPrefix: `t${++prefixes}:` }),
  reopen: async (store) => RedisCacheStore.connect({ url: server.url, keyPrefix: (store as unknown as { prefix: string }).prefix }),
  writeRaw: async (store, user, bytes) => {
    const client = new Redis(server.url);
    await client.set(`${(store as unknown as { prefix: string }).prefix}c:${user}`, Buffer.from(bytes));
    await client.quit();
  },
});

describe('RedisCacheStore faults', () => {
  const FP = 'd'.repeat(64);
  const TARGET = { fingerprint: FP, layout: LAYOUT, kernel: KERNEL };

  it('an unreachable server is STORE_UNAVAILABLE naming the url', async () => {
    await expect(RedisCacheStore.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 })).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1 is unavailable/,
    );
  });

  it('acknowledged writes survive kill -9 and restart (appendfsync always); commands during the outage fail clearly', async () => {
    const store = await RedisCacheStore.connect({ url: server.url, keyPrefix: 'durable:' });
    const events = randomEvents(LAYOUT, 300, 11);
    for (let i = 0; i < 10; i++) await store.append('u', { ...events, ...sliceAt(events, i) }, TARGET);
    await store.put('other', buildFromEncoded(FP, LAYOUT, randomEvents(LAYOUT, 5, 12), KERNEL));
    await server.kill9();
    await expect(store.get('u')).rejects.toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
    await server.launch();
    await store.close();
    const again = await RedisCacheStore.connect({ url: server.url, keyPrefix: 'durable:' });
    try {
      expect((await again.get('u'))!.eventCount).toBe(300);
      expect((await again.get('other'))!.eventCount).toBe(5);
      const listed: string[] = [];
      for await (const e of again.scan({ fingerprint: FP })) listed.push(e.user);
      expect(listed.sort()).toEqual(['other', 'u']);
    } finally {
      await again.close();
    }
  });
});

function sliceAt(events: ReturnType<typeof randomEvents>, i: number) {
  const G = LAYOUT.headsPerGroup.length;
  const w = 4 * LAYOUT.headDim;
  const [a, b] = [i * 30, (i + 1) * 30];
  return {
    count: 30,
    times: events.times.slice(a, b),
    codes: events.codes.slice(a * G, b * G),
    weights: events.weights!.slice(a, b),
    values: events.values.slice(a * w, b * w),
  };
}
