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
