import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from './tf.js';
import { initBackend } from './backend.js';
import { saveWeights, loadWeights, weightsFingerprint } from './weights.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vql-weights-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveWeights / loadWeights', () => {
  it('round-trips exactly in the tfjs model.json + weights.bin layout', async () => {
    const tensors = {
      'emb/items': tf.tensor2d([[0.1, -2.5e-8], [3.4e38, -0]], [2, 2]),
      'codebook/0': tf.randomNormal([16, 4], 0, 1, 'float32', 5),
      counts: tf.tensor1d([1, 2, 3], 'int32'),
    };
    const { fingerprint } = await saveWeights(dir, tensors, { kind: 'test', dims: [2, 4] });
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(manifest.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(['emb/items', 'codebook/0', 'counts']);
    const loaded = await loadWeights(dir);
    expect(loaded.meta).toEqual({ kind: 'test', dims: [2, 4] });
    expect(loaded.fingerprint).toBe(fingerprint);
    for (const [name, t] of Object.entries(tensors)) {
      const back = loaded.tensors[name]!;
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Buffer.from(back.dataSync().buffer).equals(Buffer.from(t.dataSync().buffer))).toBe(true);
    }
    tf.dispose([...Object.values(tensors), ...Object.values(loaded.tensors)]);
  });

  it('fingerprints change with any value and ignore insertion order', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([1, 2, 3.0000002]);
    const c = tf.tensor1d([4]);
    expect(weightsFingerprint({ a, c })).toBe(weightsFingerprint({ c, a }));
    expect(weightsFingerprint({ a })).not.toBe(weightsFingerprint({ a: b }));
    expect(weightsFingerprint({ a })).toMatch(/^[0-9a-f]{64}$/);
    tf.dispose([a, b, c]);
  });

  it('refuses NaN weights and names the tensor', async () => {
    const bad = tf.tensor1d([1, Number.NaN]);
    await expect(saveWeights(dir, { 'mlp/w': bad })).rejects.toThrow(/"mlp\/w" has a non-finite value at flat index 1/);
    bad.dispose();
  });

  it('names the missing or inconsistent file', async () => {
    await expect(loadWeights(join(dir, 'nope'))).rejects.toThrow(/cannot read .*nope\/model\.json/);
    const t = tf.ones([4]);
    await saveWeights(dir, { t });
    await writeFile(join(dir, 'weights.bin'), Buffer.alloc(8));
    await expect(loadWeights(dir)).rejects.toThrow(/weights\.bin holds 8 bytes but .*model\.json describes 16/);
    await writeFile(join(dir, 'model.json'), '{oops');
    await expect(loadWeights(dir)).rejects.toThrow(/model\.json is not valid JSON/);
    t.dispose();
  });
});
