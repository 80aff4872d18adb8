// Online scoring latency vs history length L: VQL from the per-user cache against full target
// attention over the raw history, plus cache bytes/user and build throughput.
//
// Full attention is computed on typed arrays over the user's precomputed exact keys and values
// (projections, item lookups and context fusion are NOT timed for it, which favours it): per
// candidate and head, L dot products + log κ(dt) + softmax + L·d_h weighted sum, float64
// accumulation. That is the cheapest exact form; a tfjs version would add per-op overheads.
// Both paths share the same query projection and tower, which are excluded from neither.
import { mkdirSync, writeFileSync } from 'node:fs';
import { CtrModel } from '@vql/model';
import { latencySummary } from '@vql/metrics';
import { createRng, initBackend, tf } from '@vql/runtime';
import { CachedScorer, CtrCacheModel, appendEvents, buildUserCache, cachedAttention, encodeCache, exactAttention } from '@vql/cache-store';
import type { ExactAttentionState, UserHistory } from '@vql/cache-store';

const LENGTHS = (process.env['VQL_BENCH_LENGTHS'] ?? '100,1000,10000,100000,1000000').split(',').map(Number);
const NUM_ITEMS = 20_000;
const HEADS = 4;
const GROUPS = 2;
const HEAD_DIM = 16;
const NOW = 1.75e9;

await initBackend();
const model = new CtrModel({
  numItems: NUM_ITEMS,
  embeddingDim: 32,
  embeddingInitScale: 0.5,
  interest: { kind: 'vql', heads: HEADS, groups: GROUPS, headDim: HEAD_DIM, codebookSizes: [64, 256], quantizer: { init: 'random' } },
  seed: 1,
});
const cm = new CtrCacheModel(model);
const scorer = new CachedScorer(cm);
const kernel = cm.kernel as unknown as { evaluate(dt: number): number };
const wk = Float32Array.from(model.getWeights()['interest/wk']!.dataSync());

function history(L: number, seed: number): UserHistory {
  const rng = createRng(seed);
  const times = Float64Array.from({ length: L }, () => NOW - 1 - Math.floor(Math.exp(rng.next() * Math.log(3 * 365 * 86400))));
  times.sort();
  return { items: Int32Array.from({ length: L }, () => 1 + rng.int(NUM_ITEMS)), times };
}

/** Exact keys [L, G·d_h] from the encoded values' source rows (the same projections as the model). */
function exactKeys(h: UserHistory): Float32Array {
  const L = h.items.length;
  const out = new Float32Array(L * GROUPS * HEAD_DIM);
  for (let a = 0; a < L; a += 100_000) {
    const b = Math.min(L, a + 100_000);
    const { fused } = model.embedBehaviours(h.items.subarray(a, b), {});
    const keys = tf.tidy(() => tf.matMul(tf.tensor2d(fused, [b - a, fused.length / (b - a)]), tf.tensor2d(wk, [wk.length / (GROUPS * HEAD_DIM), GROUPS * HEAD_DIM])).dataSync());
    out.set(keys, a * GROUPS * HEAD_DIM);
  }
  return out;
}

/** Full attention's per-user state: exact keys and values, and log κ at the request time. */
function exactState(h: UserHistory, values: Float32Array): ExactAttentionState {
  const logBias = Float64Array.from(h.times, (t) => Math.log(kernel.evaluate(NOW - t)));
  return { count: h.items.length, keys: exactKeys(h), values, logBias };
}

function timeIt(reps: number, fn: () => void): number[] {
  fn(); // warm-up
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

const round = (x: number, d = 3) => Number(x.toPrecision(d));
const rows: Array<Record<string, number>> = [];
const rng = createRng(99);
for (const L of LENGTHS) {
  const h = history(L, L);
  const tb = performance.now();
  const cache = buildUserCache(cm, h);
  const buildSeconds = (performance.now() - tb) / 1000;
  const one = { items: Int32Array.of(1 + rng.int(NUM_ITEMS)), time: NOW };
  const hundred = { items: Int32Array.from({ length: 100 }, () => 1 + rng.int(NUM_ITEMS)), time: NOW };
  const vql1 = latencySummary(timeIt(200, () => scorer.score(cache, one)));
  const vql100 = latencySummary(timeIt(50, () => scorer.score(cache, hundred)));
  // Full attention: same queries and tower as the cached path, exact keys/values of all L events.
  const encoded = cm.encodeEvents(h);
  const state = exactState(h, encoded.values);
  const full = (req: typeof one) => {
    const enc = cm.encodeCandidates(req);
    return cm.head(exactAttention(cm.layout, state, enc.queries, enc.count, cm.logitScale), enc.target, enc.count);
  };
  const repsFull = L >= 100_000 ? 3 : L >= 10_000 ? 10 : 50;
  // Attention alone (query projection and tower excluded from both), 100 candidates.
  const enc100 = cm.encodeCandidates(hundred);
  const vqlAtt = latencySummary(timeIt(50, () => cachedAttention(cache, cm.codebooks, cm.kernel, { count: 100, queries: enc100.queries, times: NOW })));
  const fullAtt = latencySummary(timeIt(L >= 1_000_000 ? 1 : repsFull, () => exactAttention(cm.layout, state, enc100.queries, 100, cm.logitScale)));
  const full1 = latencySummary(timeIt(repsFull, () => full(one)));
  const full100 = latencySummary(timeIt(L >= 1_000_000 ? 1 : repsFull, () => full(hundred)));
  // One appended event: the O(R·d) online update.
  const next = { items: Int32Array.of(1), times: Float64Array.of(NOW) };
  const append = latencySummary(timeIt(50, () => appendEvents(cache.clone(), next, cm)));
  const b32 = encodeCache(cache).length;
  const b16 = encodeCache(cache, { precision: 'float16' }).length;
  rows.push({
    L,
    codes: cache.entryCount,
    'vql p50 ms (1)': round(vql1.p50),
    'vql p50 ms (100)': round(vql100.p50),
    'full p50 ms (1)': round(full1.p50),
    'full p50 ms (100)': round(full100.p50),
    'speed-up (1)': round(full1.p50 / vql1.p50),
    'speed-up (100)': round(full100.p50 / vql100.p50),
    'attn-only speed-up (100)': round(fullAtt.p50 / vqlAtt.p50),
    'cache B f32': b32,
    'cache B f16': b16,
    'raw history B': L * 12, // int32 item + float64 time per behaviour, no context
    'build beh/s': Math.round(L / buildSeconds),
    'append ms (clone incl.)': round(append.p50),
  });
  console.error(`L = ${L} done`);
}
console.log(`VQL cached scoring vs full attention (H=${HEADS}, G=${GROUPS}, d_h=${HEAD_DIM}, K=[64,256], F=${cm.layout.kernelRank}; wasm backend for builds, typed arrays for scoring)`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latency.json', JSON.stringify({ heads: HEADS, groups: GROUPS, headDim: HEAD_DIM, codebookSizes: [64, 256], rows }, null, 2));
model.dispose();
