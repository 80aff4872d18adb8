import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batches, generateSynthetic } from '@vql/data';
import type { CtrBatch } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { initBackend } from '@vql/runtime';
import { CtrModel } from './ctr-model.js';
import { exportModel, importModel } from './model-io.js';
import { Trainer } from './trainer.js';
import { VqlServingParts } from './vql-serving.js';

const ds = generateSynthetic(tinySyntheticConfig);
let dir: string;
let model: CtrModel;
let batch: CtrBatch;

beforeAll(async () => {
  await initBackend();
  model = new CtrModel({
    numItems: ds.schema.numItems,
    embeddingDim: 8,
    contextFeatures: ds.schema.context,
    context: { logitBias: true },
    interest: { kind: 'vql', heads: 4, groups: 2, headDim: 4, codebookSizes: [8, 16] },
    shortTerm: 4,
    tower: [16],
    seed: 4,
  });
  const trainer = new Trainer(model, { maxLen: 40, batchSize: 64, epochs: 1, learningRate: 5e-3, seed: 1, log: () => undefined, progress: false });
  trainer.fit(ds.samples.train, ds.samples.valid);
  trainer.dispose();
  batch = batches(ds.samples.valid, { batchSize: 24, maxLen: 40 })[Symbol.iterator]().next().value!;
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vql-model-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => model.dispose());

describe('exportModel / importModel', () => {
  it('round-trips config and weights: same fingerprint, same scores', async () => {
    const { fingerprint, bytes } = await exportModel(model, dir);
    expect(fingerprint).toBe(model.fingerprint());
    expect(bytes).toBeGreaterThan(0);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(manifest.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(manifest.meta.config.interest.kind).toBe('vql');
    const imported = await importModel(dir, { expectedFingerprint: fingerprint });
    expect(imported.fingerprint).toBe(fingerprint);
    expect(Array.from(imported.model.predict(batch))).toEqual(Array.from(model.predict(batch)));
    imported.model.dispose();
  });

  it('refuses tampered weights, a foreign fingerprint and a directory without a model', async () => {
    const { fingerprint } = await exportModel(model, dir);
    await expect(importModel(dir, { expectedFingerprint: 'f'.repeat(64) })).rejects.toThrow(/expected ffffffffffff/);
    await expect(importModel(dir, { fingerprint: 'f'.repeat(64) } as never)).rejects.toThrow(/importModel: options: unknown option "fingerprint" \(did you mean "expectedFingerprint"\?\)/);
    const bin = await readFile(join(dir, 'weights.bin'));
    bin[17] = bin[17]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), bin);
    await expect(importModel(dir)).rejects.toThrow(/do not match the fingerprint recorded/);
    await expect(importModel(join(dir, 'nope'))).rejects.toThrow(/cannot read .*nope\/model\.json/);
    expect(fingerprint).toHaveLength(64);
  });
});

describe('VqlServingParts', () => {
  it('scores a request from host parts exactly as the model does (cache formula over codes)', () => {
    const parts = new VqlServingParts(model);
    const { heads: H, groups: G, headDim: dh } = parts;
    const probs = model.predict(batch);
    const L = batch.maxLen;
    const itemScope = ds.schema.context.filter((f) => f.scope === 'item');
    for (let b = 0; b < batch.size; b++) {
      const len = batch.historyLength[b]!;
      const items = batch.historyItem.subarray(b * L, b * L + len);
      const ctx: Record<string, Int32Array | Float32Array> = {};
      for (const f of ds.schema.context) ctx[f.name] = batch.historyContext[f.name]!.subarray(b * L, b * L + len);
      const { codes, values, logitBias } = parts.encodeBehaviours(Int32Array.from(items), ctx);
      const tctx: Record<string, Int32Array | Float32Array> = {};
      for (const f of itemScope) tctx[f.name] = batch.targetContext[f.name]!.subarray(b, b + 1);
      const { queries, embeddings } = parts.encodeTargets(Int32Array.of(batch.targetItem[b]!), tctx);
      const interest = new Float32Array(H * dh);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / G));
        const code = parts.codebook(g);
        let z = 0;
        const acc = new Float64Array(dh);
        for (let i = 0; i < len; i++) {
          const c = codes[i * G + g]!;
          let u = 0;
          for (let k = 0; k < dh; k++) u += queries[h * dh + k]! * code[c * dh + k]!;
          const w = Math.exp(u / Math.sqrt(dh) + logitBias[i]!) * parts.kernel!.evaluate(batch.targetTime[b]! - batch.historyTime[b * L + i]!);
          z += w;
          for (let k = 0; k < dh; k++) acc[k]! += w * values[i * H * dh + h * dh + k]!;
        }
        for (let k = 0; k < dh; k++) interest[h * dh + k] = z > 0 ? acc[k]! / z : 0;
      }
      // Short-term branch: mean fused embedding of the newest 4 behaviours.
      const n = Math.min(4, len);
      const recent = model.embedBehaviours(
        Int32Array.from(items.subarray(len - n)),
        Object.fromEntries(Object.entries(ctx).map(([k, v]) => [k, v.subarray(len - n)])),
      ).fused;
      const D = embeddings.length;
      const shortTerm = new Float32Array(D);
      for (let i = 0; i < n; i++) for (let k = 0; k < D; k++) shortTerm[k] = shortTerm[k]! + recent[i * D + k]! / Math.max(n, 1);
      expect(parts.score(interest, embeddings, shortTerm)).toBeCloseTo(probs[b]!, 4);
    }
  });

  it('refuses a model that is not VQL', () => {
    const full = new CtrModel({ numItems: 10, embeddingDim: 4, interest: { kind: 'full-attention', heads: 1 }, seed: 1 });
    expect(() => new VqlServingParts(full)).toThrow(/interest module is "full-attention", not "vql"/);
    full.dispose();
  });
});
