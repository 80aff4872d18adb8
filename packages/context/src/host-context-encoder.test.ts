import { createRng, initBackend, tf } from '@vql/runtime';
import { ContextEncoder } from './context-encoder.js';
import type { ContextFeatureSpec } from './feature-spec.js';

beforeAll(async () => {
  await initBackend();
});

const FEATURES: ContextFeatureSpec[] = [
  { name: 'author', kind: 'categorical', scope: 'item', vocabSize: 40 },
  { name: 'tags', kind: 'multi', scope: 'item', vocabSize: 30, width: 4 },
  { name: 'action', kind: 'categorical', scope: 'event', vocabSize: 3 },
  { name: 'watchSeconds', kind: 'numeric', scope: 'event', boundaries: [5, 30, 120, 600] },
];

function randomBatch(seed: number, n: number) {
  const rng = createRng(seed);
  const item = new Float32Array(n * 6).map(() => rng.normal());
  // Ids include padding 0 and out-of-vocabulary values, as serving sees them.
  const ctx = {
    author: new Int32Array(n).map(() => rng.int(45)),
    tags: new Int32Array(n * 4).map(() => (rng.next() < 0.4 ? 0 : rng.int(33))),
    action: new Int32Array(n).map(() => rng.int(4)),
    watchSeconds: new Float32Array(n).map(() => (rng.next() < 0.1 ? Number.NaN : rng.next() * 1000)),
  };
  return { item, ctx };
}

describe('HostContextEncoder', () => {
  for (const [fusion, fusionHidden] of [['concat', 0], ['sum', 0], ['concat', 7]] as const) {
    it(`matches the tfjs forward (${fusion} fusion${fusionHidden > 0 ? ' with a ReLU branch' : ''}, bias) and counts OOV the same way`, () => {
      const enc = new ContextEncoder({ features: FEATURES, itemDim: 6, fusion, embeddingDim: fusion === 'sum' ? 6 : 5, outDim: 6, fusionHidden, logitBias: true, seed: 9 });
      // Non-zero bias weights so the comparison is not trivially 0 = 0.
      tf.tidy(() => enc.setWeights({ ...enc.getWeights(), 'logitBias/kernel': tf.randomNormal(enc.getWeights()['logitBias/kernel']!.shape, 0, 1, 'float32', 3) }));
      const n = 64;
      const { item, ctx } = randomBatch(17, n);
      const itemT = tf.tensor2d(item, [n, 6]);
      const { fused, bias } = enc.encodeHistory(itemT, ctx);
      const oovAfterTf = enc.oovCounts();
      const host = enc.toHost();
      expect(host.fingerprint).toBe(enc.fingerprint());
      const hostFused = host.fuseHistory(item, ctx, n);
      const hostBias = host.logitBias(ctx, n);
      const tfFused = fused.dataSync();
      const tfBias = bias!.dataSync();
      for (let i = 0; i < tfFused.length; i++) expect(Math.abs(hostFused[i]! - tfFused[i]!)).toBeLessThan(1e-5);
      for (let i = 0; i < n; i++) expect(Math.abs(hostBias[i]! - tfBias[i]!)).toBeLessThan(1e-5);
      // Both paths went through the same counter: every count doubled by the host pass... and the bias pass.
      const after = enc.oovCounts();
      expect(oovAfterTf['author']).toBeGreaterThan(0);
      expect(after['author']).toBe(3 * oovAfterTf['author']!);

      // One behaviour at a time, as the cache builder calls it.
      const row = 5;
      const one = host.fuseHistory(item.subarray(row * 6, row * 6 + 6), {
        author: ctx.author.subarray(row, row + 1),
        tags: ctx.tags.subarray(row * 4, row * 4 + 4),
        action: ctx.action.subarray(row, row + 1),
        watchSeconds: ctx.watchSeconds.subarray(row, row + 1),
      });
      for (let c = 0; c < 6; c++) expect(one[c]).toBeCloseTo(hostFused[row * 6 + c]!, 6);

      const target = host.fuseTarget(item.subarray(0, 12), { author: ctx.author.subarray(0, 2), tags: ctx.tags.subarray(0, 8) }, 2);
      const tfTarget = tf.tidy(() => enc.fuseTarget(tf.tensor2d(item.subarray(0, 12), [2, 6]), { author: ctx.author.subarray(0, 2), tags: ctx.tags.subarray(0, 8) }).dataSync());
      for (let i = 0; i < 12; i++) expect(Math.abs(target[i]! - tfTarget[i]!)).toBeLessThan(1e-5);
      expect(() => host.fuseTarget(item.subarray(0, 6), { author: Int32Array.of(1), tags: new Int32Array(4), action: Int32Array.of(1) })).toThrow(/"action" is an event-scope feature/);
      expect(() => host.fuseHistory(item.subarray(0, 5), ctx)).toThrow(/itemEmb must be a Float32Array of 1 rows × itemDim 6/);
      tf.dispose([itemT, fused, bias!]);
      enc.dispose();
    });
  }

  it('is a snapshot: training the encoder afterwards does not change it', () => {
    const enc = new ContextEncoder({ features: FEATURES.slice(0, 1), itemDim: 6, seed: 1 });
    const host = enc.toHost();
    const x = new Float32Array(6).fill(1);
    const before = host.fuseHistory(x, { author: Int32Array.of(3) });
    tf.tidy(() => enc.setWeights(Object.fromEntries(Object.entries(enc.getWeights()).map(([k, t]) => [k, tf.add(t, 1)]))));
    expect(Array.from(host.fuseHistory(x, { author: Int32Array.of(3) }))).toEqual(Array.from(before));
    expect(enc.fingerprint()).not.toBe(host.fingerprint);
    enc.dispose();
  });
});
