import type { CtrSampleSet, EventTable } from '@vql/data';
import { ExperimentConfigError } from './errors.js';

/**
 * The floor: a logistic model on observable features only — the target's category and the
 * category mix of the newest L behaviours, crossed (logit = b + a[c_q] + Σ_c W[c_q, c]·mix_c).
 * It knows nothing of items, topics, time or behaviour types, so a sequence model below it has
 * failed to learn, which is a bug to find rather than a result.
 */
export interface CategoryMixFloor {
  /** Number of parameters (1 + C + C²). */
  readonly parameters: number;
  predict(samples: CtrSampleSet): Float32Array;
}

export interface FloorOptions {
  /** Item-scope categorical feature of the table. */
  categoryFeature: string;
  /** Newest L behaviours the mix is taken over. */
  L: number;
  /** Full-batch Adam iterations. Default 300. */
  iterations?: number;
  /** L2 on W and a. Default 1e-4. */
  l2?: number;
}

/** Per sample: target category and the category mix of its newest L behaviours. */
function features(samples: CtrSampleSet, category: Int32Array, C: number, L: number): { target: Int32Array; mix: Float32Array } {
  const { table } = samples;
  const target = new Int32Array(samples.size);
  const mix = new Float32Array(samples.size * C);
  for (let s = 0; s < samples.size; s++) {
    target[s] = category[samples.targetItem[s]!]!;
    const u = samples.user[s]!;
    const end = samples.endOffset[s]!;
    const start = Math.max(table.userOffsets[u]!, end - L);
    const n = end - start;
    if (n === 0) continue;
    for (let i = start; i < end; i++) mix[s * C + category[table.item[i]!]!]! += 1 / n;
  }
  return { target, mix };
}

function categoryColumn(table: EventTable, name: string): { category: Int32Array; C: number } {
  const spec = table.schema.context.find((f) => f.name === name);
  const column = table.itemContext[name];
  if (spec === undefined || spec.kind !== 'categorical' || spec.scope !== 'item' || !(column instanceof Int32Array)) {
    throw new ExperimentConfigError('BAD_DATASET', `floor: dataset "${table.name}" has no item-scope categorical feature "${name}".`);
  }
  return { category: column, C: spec.vocabSize + 1 }; // id 0 = missing keeps its own row
}

export function fitCategoryMixFloor(train: CtrSampleSet, options: FloorOptions): CategoryMixFloor {
  const { category, C } = categoryColumn(train.table, options.categoryFeature);
  const iterations = options.iterations ?? 300;
  const l2 = options.l2 ?? 1e-4;
  const { target, mix } = features(train, category, C, options.L);
  const P = 1 + C + C * C; // [b, a_0..a_C-1, W row-major]
  const w = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const grad = new Float64Array(P);
  const n = train.size;
  const base = train.label.reduce((a, b) => a + b, 0) / n;
  w[0] = Math.log(Math.max(base, 1e-6) / Math.max(1 - base, 1e-6));
  const lr = 0.05;
  for (let it = 1; it <= iterations; it++) {
    grad.fill(0);
    for (let s = 0; s < n; s++) {
      const c = target[s]!;
      let z = w[0]! + w[1 + c]!;
      const row = 1 + C + c * C;
      for (let k = 0; k < C; k++) z += w[row + k]! * mix[s * C + k]!;
      const g = 1 / (1 + Math.exp(-z)) - train.label[s]!;
      grad[0]! += g;
      grad[1 + c]! += g;
      for (let k = 0; k < C; k++) grad[row + k]! += g * mix[s * C + k]!;
    }
    for (let j = 0; j < P; j++) {
      const gj = grad[j]! / n + (j > 0 ? l2 * w[j]! : 0);
      m[j] = 0.9 * m[j]! + 0.1 * gj;
      v[j] = 0.999 * v[j]! + 0.001 * gj * gj;
      w[j]! -= (lr * (m[j]! / (1 - 0.9 ** it))) / (Math.sqrt(v[j]! / (1 - 0.999 ** it)) + 1e-8);
    }
  }
  return {
    parameters: P,
    predict(samples) {
      const f = features(samples, category, C, options.L);
      const out = new Float32Array(samples.size);
      for (let s = 0; s < samples.size; s++) {
        const c = f.target[s]!;
        let z = w[0]! + w[1 + c]!;
        for (let k = 0; k < C; k++) z += w[1 + C + c * C + k]! * f.mix[s * C + k]!;
        out[s] = 1 / (1 + Math.exp(-z));
      }
      return out;
    },
  };
}
