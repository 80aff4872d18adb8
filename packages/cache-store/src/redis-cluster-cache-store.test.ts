import { Cluster } from 'ioredis';
import { RedisCacheStore } from './redis-cache-store.js';
import { TestRedisCluster, redisServerBinary } from './testing/index.js';
import { describeStoreContract } from './testing/store-contract.js';
import { KERNEL, LAYOUT, randomEvents } from './testing/fixtures.js';
import { buildFromEncoded } from './user-cache.js';

redisServerBinary();

let cluster: TestRedisCluster;
let prefixes = 0;
beforeAll(async () => {
  cluster = await TestRedisCluster.start(3);
});
afterAll(async () => {
  await cluster.stop();
});

const prefixOf = (store: unknown) => (store as { prefix: string }).prefix;

describeStoreContract('RedisCacheStore on a Redis Cluster', {
  create: async () => RedisCacheStore.connect({ nodes: cluster.nodes, keyPrefix: `t${++prefixes}:` }),
  reopen: async (store) => RedisCacheStore.connect({ nodes: cluster.nodes, keyPrefix: prefixOf(store) }),
  writeRaw: async (store, user, bytes) => {
    const client = new Cluster(cluster.nodes.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })));
    await client.set(`${prefixOf(store)}{${user}}:c`, Buffer.from(bytes));
    await client.quit();
  },
});

describe('RedisCacheStore on a Redis Cluster: layout', () => {
  it('spreads users over the masters and refuses a database index or both url and nodes', async () => {
    const store = await RedisCacheStore.connect({ nodes: [cluster.nodes[0]!], keyPrefix: 'spread:' }); // the other nodes are discovered
    const cache = buildFromEncoded('e'.repeat(64), LAYOUT, randomEvents(LAYOUT, 20, 1), KERNEL);
    for (let u = 0; u < 30; u++) await store.put(`user-${u}`, cache);
    const listed: string[] = [];
    for await (const e of store.scan({ fingerprint: 'e'.repeat(64) })) listed.push(e.user);
    expect(listed.sort()).toEqual(Array.from({ length: 30 }, (_, u) => `user-${u}`).sort());
    const counts = await Promise.all(
      cluster.servers.map(async (s) => {
        const { Redis } = await import('ioredis');
        const r = new Redis(s.url);
        const n = (await r.keys('spread:*')).length;
        await r.quit();
        return n;
      }),
    );
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(1);
    await store.close();
    await expect(RedisCacheStore.connect({ nodes: [`${cluster.nodes[0]}/2`] })).rejects.toThrow(/options.nodes\[0\] selects database 2; a Redis Cluster has database 0 only/);
    await expect(RedisCacheStore.connect({ nodes: cluster.nodes, url: cluster.nodes[0]! })).rejects.toThrow(/options.url \(one server\) or options.nodes \(a cluster\), not both/);
  });
});
