import { expandUserBatch, generateSynthetic, userBatches } from '@vql/data';
import type { UserBatch } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { initBackend, tf } from '@vql/runtime';
import { causalCacheHost } from './causal-cache-attention.js';
import { setCausalScanThreads } from './causal-scan-pool.js';
import type { CausalLayout } from './interest-module.js';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import type { PreparedBatch } from './batch-adapter.js';

const ds = generateSynthetic(tinySyntheticConfig);
// Several users, some targets sharing one history end, histories of 40–400 behaviours.
const batch: UserBatch = [...userBatches(ds.samples.train, { batchSize: 24, shuffle: true, seed: 4 })][0]!;

function modelConfig(extra: Partial<CtrModelConfig> = {}, interest: Record<string, unknown> = {}): CtrModelConfig {
  return {
    numItems: ds.schema.numItems,
    embeddingDim: 8,
    contextFeatures: ds.schema.context,
    context: { logitBias: true, embeddingDim: 4 },
    interest: { kind: 'vql', heads: 4, groups: 2, headDim: 4, codebookSizes: [4, 8], quantizer: { init: 'random', deadCodeSteps: 0 }, ...interest },
    tower: [8],
    seed: 3,
    ...extra,
  };
}

/** Loss and the gradient of every trainable variable (by variable name) on a prepared batch. */
function lossAndGrads(model: CtrModel, prepared: PreparedBatch): { loss: number; grads: Map<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(() => model.loss(prepared, true).total as tf.Scalar, model.trainableVariables());
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads)) out.set(name, Float32Array.from(g.dataSync()));
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

describe.each(['wasm', 'cpu'] as const)('causal-cache VQL training (%s)', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it.each([
    ['context + logit bias + kernel', {}, {}],
    ['no context', {}, { useContext: false }],
    ['no kernel', {}, { kernel: null }],
    ['one shared codebook', {}, { sharedCodebook: true }],
  ])('%s: loss and every gradient equal per-position VQL over the same whole histories', (_name, extra, interest) => {
    const model = new CtrModel(modelConfig(extra, interest));
    const before = tf.memory().numTensors;
    const causal = model.prepare(batch);
    // The causal layout: one history end per target, no window (whole history).
    expect(causal.causal!.historyEnd).toHaveLength(batch.size);
    expect(causal.causal!.historyStart).toBeUndefined();
    expect(causal.maxLen).toBe(0);
    const perPosition = model.prepare(expandUserBatch(batch));
    expect(perPosition.causal).toBeUndefined();
    expect(perPosition.maxLen).toBeGreaterThan(100);
    const a = lossAndGrads(model, causal);
    const b = lossAndGrads(model, perPosition);
    expect(Math.abs(a.loss - b.loss) / Math.abs(b.loss)).toBeLessThan(1e-4);
    expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
    let nonZero = 0;
    for (const [name, g] of a.grads) {
      const ref = b.grads.get(name)!;
      const err = relativeError(g, ref);
      if (!(err < 1e-4)) throw new Error(`gradient of variable ${name} (${ref.length} values): relative error ${err}`);
      if (ref.some((x) => x !== 0)) nonZero++;
    }
    // Embeddings, context, projections, codebooks, kernel rates and weights, tower: all reached.
    expect(nonZero).toBe(a.grads.size);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it.each([null, 7])('two scan threads give the one-thread loss and gradients (to rounding), the same on every run (window %s)', (window) => {
    const model = new CtrModel(modelConfig(window === null ? {} : { historyPolicy: { kind: 'newest', length: window } }));
    const prepared = model.prepare(batch);
    expect(batch.numUsers).toBeGreaterThan(1);
    const one = lossAndGrads(model, prepared);
    setCausalScanThreads(2);
    try {
      const a = lossAndGrads(model, prepared);
      const b = lossAndGrads(model, prepared);
      expect(b.loss).toBe(a.loss);
      for (const [name, g] of a.grads) {
        expect(b.grads.get(name)).toEqual(g);
        expect(relativeError(g, one.grads.get(name)!)).toBeLessThan(1e-6);
      }
      expect(Math.abs(a.loss - one.loss)).toBeLessThan(1e-6);
    } finally {
      setCausalScanThreads(1);
    }
    model.dispose();
  });

  it('predicts what the per-sample expansion predicts', () => {
    const model = new CtrModel(modelConfig());
    const p = model.predict(batch);
    const r = model.predict(expandUserBatch(batch));
    expect(relativeError(p, r)).toBeLessThan(1e-5);
    model.dispose();
  });

  it.each([1, 7, 50])('newest-%d model: the sliding-window scan equals per-position VQL over the newest L', (L) => {
    const model = new CtrModel(modelConfig({ historyPolicy: { kind: 'newest', length: L } }));
    expect(model.config.historyWindow).toBe(L);
    const causal = model.prepare(batch);
    const { historyStart, historyEnd } = causal.causal!;
    expect(Array.from(historyStart!)).toEqual(Array.from(historyEnd, (end) => Math.max(0, end - L)));
    const perPosition = model.prepare(expandUserBatch(batch, L));
    expect(perPosition.maxLen).toBe(L);
    const a = lossAndGrads(model, causal);
    const b = lossAndGrads(model, perPosition);
    expect(Math.abs(a.loss - b.loss) / Math.abs(b.loss)).toBeLessThan(1e-4);
    for (const [name, g] of a.grads) {
      const err = relativeError(g, b.grads.get(name)!);
      if (!(err < 1e-4)) throw new Error(`newest ${L}: gradient of variable ${name}: relative error ${err}`);
    }
    // A user batch cut to the window when built gives the same numbers.
    const windowed = [...userBatches(ds.samples.train, { batchSize: 24, shuffle: true, seed: 4, maxLen: L })][0]!;
    expect(Math.abs(lossAndGrads(model, model.prepare(windowed)).loss - a.loss)).toBeLessThan(1e-6);
    model.dispose();
  });
});

describe('causalCacheHost', () => {
  it('stays finite over decades-long gaps and huge context biases (re-anchoring, shifted weights)', () => {
    // One user, 3 behaviours, gaps of 10⁹ s before the targets, rates up to 1/s: e^{−λΔ} = 0 in float64.
    const layout: CausalLayout = {
      numUsers: 1,
      eventOffsets: Int32Array.of(0, 3),
      eventRow: Int32Array.of(1, 2, 1),
      eventTime: Float64Array.of(0, 1e9, 2e9),
      targetOffsets: Int32Array.of(0, 3),
      targetTime: Float64Array.of(2e9 + 1e9, 4e9, 5e9),
      historyEnd: Int32Array.of(3, 3, 3),
    };
    const [H, G, dh, U] = [2, 1, 2, 3];
    const q = Float32Array.from({ length: 3 * H * dh }, (_, i) => Math.sin(i));
    const k = Float32Array.of(0, 0, 1, 0, 0, 1);
    const v = Float32Array.from({ length: U * H * dh }, (_, i) => i);
    const bias = Float32Array.of(0, 500, -500);
    const host = causalCacheHost(q, k, v, bias, Float64Array.of(0, Math.log(1e-3)), Float64Array.of(0, 0), U, {
      layout,
      codes: Int32Array.of(0, 0, 1),
      shape: { heads: H, groups: G, headDim: dh },
      scale: 1,
      kernelUnit: 1,
    });
    expect(host.out.every(Number.isFinite)).toBe(true);
    // Row 1 (bias +500) dominates every head: the output is its values.
    for (let j = 0; j < 3; j++) for (let x = 0; x < H * dh; x++) expect(host.out[j * H * dh + x]).toBeCloseTo(v[H * dh + x]!, 4);
    const g = host.backward(new Float32Array(3 * H * dh).fill(1));
    for (const arr of Object.values(g)) expect((arr as Float32Array).every(Number.isFinite)).toBe(true);
  });
});

