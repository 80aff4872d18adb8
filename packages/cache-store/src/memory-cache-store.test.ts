import { LAYOUT, KERNEL, randomEvents } from './testing/fixtures.js';
import { describeStoreContract } from './testing/store-contract.js';
import { MemoryCacheStore } from './memory-cache-store.js';
import { buildFromEncoded } from './user-cache.js';

describeStoreContract('MemoryCacheStore', {
  create: async () => new MemoryCacheStore(),
  reopen: async (store) => store,
  writeRaw: async (store, user, bytes) => {
    (store as unknown as { blobs: Map<string, Uint8Array> }).blobs.set(user, bytes);
  },
});

describe('MemoryCacheStore options', () => {
  it('stores float16 blobs when asked (smaller, still decodable)', async () => {
    const cache = buildFromEncoded('a'.repeat(64), LAYOUT, randomEvents(LAYOUT, 200, 1), KERNEL);
    const s32 = new MemoryCacheStore();
    const s16 = new MemoryCacheStore({ precision: 'float16' });
    await s32.put('u', cache);
    await s16.put('u', cache);
    expect((await s16.getBlob('u'))!.length).toBeLessThan((await s32.getBlob('u'))!.length);
    expect((await s16.get('u'))!.eventCount).toBe(200);
    expect(() => new MemoryCacheStore({ precision: 'int8' as 'float16' })).toThrow(/options\.precision/);
  });
});
