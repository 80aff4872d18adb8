// Code updates on clustered keys: gradient and EMA both lower the quantization error; k-means++
// init with dead-code restart keeps (almost) every code in use, random init without restart does not.
import { tf, initBackend, createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { GroupedQuantizer } from './grouped-quantizer.js';
import type { GroupedQuantizerOptions } from './grouped-quantizer-options.js';
import type { GroupStats } from './window-stats.js';

beforeAll(async () => {
  await initBackend();
});

const d = 8;
const clusters = 16;
const batch = 256;

function makeSource(seed: string): (rng: Rng) => tf.Tensor3D {
  const rng = createRng(seed);
  // Clusters away from the origin (scale 3), where random N(0, 1) codes start.
  const centers = Float32Array.from({ length: clusters * d }, () => 3 * rng.normal());
  return (r: Rng) => {
    const v = new Float32Array(batch * d);
    for (let i = 0; i < batch; i++) {
      const c = r.int(clusters);
      for (let t = 0; t < d; t++) v[i * d + t] = centers[c * d + t]! + 0.5 * r.normal();
    }
    return tf.tensor3d(v, [batch, 1, d]);
  };
}

/** Runs `steps` training steps; `learn: false` records statistics but never moves the codes. */
function train(q: GroupedQuantizer, source: (r: Rng) => tf.Tensor3D, rng: Rng, steps: number, optimizer: tf.Optimizer | null, learn = true): void {
  for (let s = 0; s < steps; s++) {
    const keys = source(rng);
    if (q.codeUpdate === 'gradient' && learn && optimizer !== null) {
      const loss = optimizer.minimize(() => q.quantize(keys, { training: true }).codebookLoss, true, q.trainableVariables());
      loss?.dispose();
    } else {
      const out = q.quantize(keys, { training: true });
      tf.dispose([out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    }
    if (learn) q.update();
    keys.dispose();
  }
}

function run(options: Partial<GroupedQuantizerOptions>, steps: number, learn = true): { first: GroupStats; last: GroupStats } {
  const source = makeSource('clusters');
  const rng = createRng('batches');
  const q = new GroupedQuantizer({ dim: d, codebookSizes: [64], seed: 4, ...options });
  const optimizer = tf.train.adam(0.05);
  try {
    train(q, source, rng, 1, optimizer, learn);
    const first = q.stats()[0]!;
    train(q, source, rng, steps, optimizer, learn);
    q.resetStats();
    train(q, source, rng, 10, optimizer, learn);
    return { first, last: q.stats()[0]! };
  } finally {
    optimizer.dispose();
    q.dispose();
  }
}

describe('code updates on clustered keys', () => {
  it('gradient, EMA and SimVQ updates all reduce the quantization error; frozen codes do not', () => {
    const frozen = run({ init: 'random', deadCodeSteps: 0 }, 60, false);
    const results: Record<string, { first: GroupStats; last: GroupStats }> = {
      gradient: run({ init: 'random', deadCodeSteps: 0 }, 60),
      ema: run({ init: 'random', deadCodeSteps: 0, update: 'ema', decay: 0.9 }, 60),
      simvq: run({ init: 'random', deadCodeSteps: 0, simvq: true }, 60),
    };
    console.log(
      [`frozen ${frozen.first.relativeError.toFixed(3)} -> ${frozen.last.relativeError.toFixed(3)} dead ${frozen.last.deadFraction.toFixed(3)}`]
        .concat(Object.entries(results).map(([k, r]) => `${k} ${r.first.relativeError.toFixed(3)} -> ${r.last.relativeError.toFixed(3)} dead ${r.last.deadFraction.toFixed(3)}`))
        .join('\n'),
    );
    expect(frozen.last.relativeError).toBeGreaterThan(0.9 * frozen.first.relativeError);
    for (const r of Object.values(results)) {
      expect(r.last.relativeError).toBeLessThan(0.6 * r.first.relativeError);
    }
  });

  it('k-means++ init + dead-code restart keep the dead fraction under 10%; random init without restart leaves most codes dead', () => {
    const rows: string[] = [];
    for (const update of ['gradient', 'ema'] as const) {
      const good = run({ init: 'kmeans++', deadCodeSteps: 5, update }, 40);
      const bad = run({ init: 'random', deadCodeSteps: 0, update }, 40);
      rows.push(`${update}: kmeans++/restart dead ${good.last.deadFraction.toFixed(3)} err ${good.last.relativeError.toFixed(3)} perplexity ${good.last.perplexity.toFixed(1)} restarts ${good.last.restarts}; random/no-restart dead ${bad.last.deadFraction.toFixed(3)} err ${bad.last.relativeError.toFixed(3)} perplexity ${bad.last.perplexity.toFixed(1)}`);
      expect(good.last.deadFraction).toBeLessThan(0.1);
      expect(bad.last.deadFraction).toBeGreaterThan(0.5);
      expect(good.last.relativeError).toBeLessThan(bad.last.relativeError);
      expect(good.last.perplexity).toBeGreaterThan(2 * bad.last.perplexity);
      // Seeded: the same run gives the same numbers.
      const again = run({ init: 'kmeans++', deadCodeSteps: 5, update }, 40);
      expect(Array.from(again.last.counts)).toEqual(Array.from(good.last.counts));
      expect(again.last.relativeError).toBe(good.last.relativeError);
    }
    console.log(rows.join('\n'));
  });

  it('reports statistics consistent with their definitions', () => {
    const q = new GroupedQuantizer({ dim: 2, codebookSizes: [4], init: 'random', deadCodeSteps: 0, seed: 1 });
    q.setWeights({ 'group0/codes': tf.tensor2d([[1, 0], [0, 1], [-1, 0], [0, -1]]) });
    expect(Number.isNaN(q.stats()[0]!.relativeError)).toBe(true);
    const keys = tf.tensor3d([[[2, 0]], [[0, 3]], [[1.5, 0]], [[5, 5]]], [4, 1, 2]);
    const mask = tf.tensor1d([1, 1, 1, 0]);
    const out = q.quantize(keys, { mask, training: true });
    const s = q.stats()[0]!;
    expect(Array.from(s.counts)).toEqual([2, 1, 0, 0]);
    expect(s.assignments).toBe(3);
    expect(s.deadFraction).toBe(0.5);
    const p = [2 / 3, 1 / 3];
    expect(s.perplexity).toBeCloseTo(Math.exp(-p.reduce((a, x) => a + x * Math.log(x), 0)), 10);
    expect(s.relativeError).toBeCloseTo((1 / 2 + 2 / 3 + 0.5 / 1.5) / 3, 6);
    expect(s.meanSquaredError).toBeCloseTo((1 + 4 + 0.25) / 3 / 2, 6);
    q.resetStats();
    expect(q.stats()[0]!.assignments).toBe(0);
    tf.dispose([keys, mask, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    q.dispose();
  });
});
