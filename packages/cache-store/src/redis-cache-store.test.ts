import { Redis } from 'ioredis';
import { RedisCacheStore } from './redis-cache-store.js';
import { TestRedisServer, redisServerBinary } from './testing/index.js';
import { describeStoreContract } from './testing/store-contract.js';
import { KERNEL, LAYOUT, randomEvents } from './testing/fixtures.js';
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

  // Every rejection in this block must be one we await: ioredis errors used to escape as
  // unhandled rejections or emitter errors.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 300)); // let late ioredis callbacks fire
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('an unreachable server is STORE_UNAVAILABLE naming the url and the cause', async () => {
    const refused = RedisCacheStore.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 });
    await expect(refused).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:1 is unavailable: .*ECONNREFUSED/);
    await expect(refused).rejects.toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
    await expect(RedisCacheStore.connect({ url: 'redis://no-such-host.invalid:6379', connectTimeoutMs: 10_000 })).rejects.toThrow(
      /no-such-host\.invalid.* is unavailable: .*(ENOTFOUND|EAI_AGAIN)/,
    );
  });

  it('the URL database index is honoured; a refused or malformed index is a clear error', async () => {
    const db3 = await RedisCacheStore.connect({ url: `${server.url}/3`, keyPrefix: 'dbtest:' });
    try {
      expect(db3.db).toBe(3);
      await db3.put('u', buildFromEncoded(FP, LAYOUT, randomEvents(LAYOUT, 5, 16), KERNEL));
      const raw = new Redis(server.url);
      try {
        expect(await raw.exists('dbtest:c:u')).toBe(0); // not in database 0
        await raw.select(3);
        expect(await raw.exists('dbtest:c:u')).toBe(1);
      } finally {
        await raw.quit();
      }
      expect((await db3.get('u'))!.eventCount).toBe(5);
    } finally {
      await db3.close();
    }
    await expect(RedisCacheStore.connect({ url: `${server.url}/99` })).rejects.toThrow(
      /selects database 99, which the server refuses \(ERR DB index is out of range/,
    );
    await expect(RedisCacheStore.connect({ url: `${server.url}/99` })).rejects.toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await expect(RedisCacheStore.connect({ url: `${server.url}/abc` })).rejects.toThrow(/database index "abc" in its path, which is not a non-negative integer/);
    await expect(RedisCacheStore.connect({ url: `${server.url}/1?db=2` })).rejects.toThrow(/has a query or fragment/);
    await expect(RedisCacheStore.connect({ url: 'http://127.0.0.1:6379' })).rejects.toThrow(/has protocol "http:"/);
    await expect(RedisCacheStore.connect({ url: 'redis://:secret@127.0.0.1:1', connectTimeoutMs: 300 })).rejects.toThrow(/redis:\/\/:\*\*\*@127\.0\.0\.1:1 is unavailable/);
    await expect(RedisCacheStore.connect({ url: server.url, keyprefix: 'x' } as never)).rejects.toThrow(/unknown option "keyprefix" \(did you mean "keyPrefix"\?\)/);
  });

  it('an append retried after an outage is not applied twice', async () => {
    const store = await RedisCacheStore.connect({ url: server.url, keyPrefix: 'retry:' });
    try {
      const batch = { ...randomEvents(LAYOUT, 30, 17), ids: Array.from({ length: 30 }, (_, i) => 1000 + i) };
      await store.append('u', batch, TARGET); // acknowledged... or, from the caller's side, maybe not
      await server.kill9();
      await expect(store.append('u', batch, TARGET)).rejects.toThrow(/is unavailable \(.*(ECONNREFUSED|ECONNRESET|connection (reconnecting|connecting|close|end))/);
      await server.launch();
      let again: Awaited<ReturnType<typeof store.append>> | undefined;
      for (let i = 0; i < 50 && again === undefined; i++) {
        again = await store.append('u', batch, TARGET).catch(async () => {
          await new Promise((r) => setTimeout(r, 100)); // reconnecting
          return undefined;
        });
      }
      expect(again!.applied).toBe(0);
      expect(again!.duplicates).toHaveLength(30);
      expect((await store.get('u'))!.eventCount).toBe(30);
    } finally {
      await store.close();
    }
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
