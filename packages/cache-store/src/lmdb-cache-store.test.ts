import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LmdbCacheStore } from './lmdb-cache-store.js';
import { describeStoreContract } from './testing/store-contract.js';
import { KERNEL, LAYOUT, randomEvents } from './testing/fixtures.js';
import { buildFromEncoded } from './user-cache.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vql-lmdb-'));
  dirs.push(d);
  return d;
}

describeStoreContract('LmdbCacheStore', {
  create: async () => new LmdbCacheStore({ path: freshDir() }),
  reopen: async (store) => new LmdbCacheStore({ path: (store as LmdbCacheStore).path }),
  writeRaw: async (store, user, bytes) => {
    const db = open<Buffer, string>({ path: (store as LmdbCacheStore).path, encoding: 'binary', compression: false });
    await db.put(user, Buffer.from(bytes));
    await db.close();
  },
});

describe('LmdbCacheStore persistence', () => {
  it('what was put survives closing and reopening the environment', async () => {
    const path = freshDir();
    const cache = buildFromEncoded('c'.repeat(64), LAYOUT, randomEvents(LAYOUT, 100, 3), KERNEL);
    const a = new LmdbCacheStore({ path });
    await a.put('u', cache);
    await a.close();
    const b = new LmdbCacheStore({ path });
    expect((await b.get('u'))!.eventCount).toBe(100);
    await b.close();
  });

  it('an unusable path is STORE_UNAVAILABLE naming the path', () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    expect(() => new LmdbCacheStore({ path: join(file, 'db') })).toThrow(/cannot open LMDB environment at .*a-file\/db/);
  });
});
