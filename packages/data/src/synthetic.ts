import { createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { VqlDataError } from './errors.js';
import type { CtrSampleSet, CtrSplits } from './samples.js';
import { checkSplit, splitPoints } from './samples.js';
import type { CleaningReport, DatasetSchema, EventTable } from './types.js';

const DAY = 86_400;

/** Parameters of the synthetic ultra-long generator (README: "Generative process"). */
export interface SyntheticConfig {
  seed: number | string;
  numUsers: number;
  numItems: number;
  numCategories: number;
  /** Events per user: log-normal around `median` (spread `sigma`, default 0.6), clipped to [min, max]. */
  historyLength: { min: number; median: number; max: number; sigma?: number };
  /** Interests per user, uniform in [min, max]; default { min: 3, max: 6 }. */
  numInterests?: { min: number; max: number };
  /** Latent dimension of items; default 16. */
  latentDim?: number;
  /** Mean seconds between a user's events; default 1800. */
  meanGapSeconds?: number;
  /** Mean length of an interest's active / dormant periods; defaults 3 and 15 days. */
  activeSeconds?: number;
  dormantSeconds?: number;
  /** Half-lives of the decay components of the true click logit; default [6 h, 7 d, 365 d]. */
  decayHalfLivesSeconds?: number[];
  /** Weight of each decay component; default [2, 2, 6]. */
  decayWeights?: number[];
  /** Probability that a behaviour is random exploration instead of an interest; default 0.15. */
  noise?: number;
  /** Candidate impressions (samples) per user; default 10. */
  impressionsPerUser?: number;
  /** Probability that a candidate comes from one of the user's interests (else random); default 0.5. */
  targetInterestProb?: number;
  /** Logit intercept; default -1. */
  bias?: number;
  /** Std of the per-item logit bias; default 0.3. */
  itemBiasStd?: number;
  /** Time of the earliest possible event, epoch seconds; default 1.6e9. */
  startTime?: number;
  split?: readonly [number, number, number];
}

export type ResolvedSyntheticConfig = Required<Omit<SyntheticConfig, 'historyLength' | 'numInterests'>> & {
  historyLength: { min: number; median: number; max: number; sigma: number };
  numInterests: { min: number; max: number };
};

/** Behaviour types of the `behavior` event feature and their weight in the true logit. */
export const SYNTHETIC_BEHAVIORS = ['view', 'like', 'share'] as const;
const BEHAVIOR_WEIGHT = [0, 1, 2, 3];
const INTEREST_BEHAVIOR_CDF = [0.65, 0.93, 1];
const EXPLORE_BEHAVIOR_CDF = [0.9, 0.99, 1];

export function resolveSyntheticConfig(config: SyntheticConfig): ResolvedSyntheticConfig {
  const bad = (field: string, why: string): never => {
    throw new VqlDataError('INVALID_ARGUMENT', `generateSynthetic: config.${field} ${why}.`);
  };
  const posInt = (v: number, field: string) => (Number.isInteger(v) && v > 0 ? v : bad(field, `must be a positive integer, got ${v}`));
  const pos = (v: number, field: string) => (Number.isFinite(v) && v > 0 ? v : bad(field, `must be a positive number, got ${v}`));
  const prob = (v: number, field: string) => (Number.isFinite(v) && v >= 0 && v <= 1 ? v : bad(field, `must be in [0, 1], got ${v}`));
  if (config === null || typeof config !== 'object') bad('', 'must be an object');
  posInt(config.numUsers, 'numUsers');
  posInt(config.numCategories, 'numCategories');
  posInt(config.numItems, 'numItems');
  if (config.numItems < config.numCategories) bad('numItems', `must be >= numCategories (${config.numCategories}), got ${config.numItems}`);
  const h = config.historyLength;
  if (h === undefined) bad('historyLength', 'is required');
  posInt(h.min, 'historyLength.min');
  posInt(h.max, 'historyLength.max');
  pos(h.median, 'historyLength.median');
  if (h.min < 2 || h.min > h.max) bad('historyLength', `needs 2 <= min <= max, got min ${h.min}, max ${h.max}`);
  const ni = config.numInterests ?? { min: 3, max: 6 };
  posInt(ni.min, 'numInterests.min');
  posInt(ni.max, 'numInterests.max');
  if (ni.min > ni.max || ni.max > config.numCategories) bad('numInterests', `needs min <= max <= numCategories, got ${ni.min}..${ni.max}`);
  const halfLives = config.decayHalfLivesSeconds ?? [0.25 * DAY, 7 * DAY, 365 * DAY];
  const weights = config.decayWeights ?? [2, 2, 6];
  if (halfLives.length === 0 || halfLives.length !== weights.length) {
    bad('decayWeights', `must have one weight per half-life (${halfLives.length}), got ${weights.length}`);
  }
  halfLives.forEach((v, i) => pos(v, `decayHalfLivesSeconds[${i}]`));
  weights.forEach((v, i) => (Number.isFinite(v) ? v : bad(`decayWeights[${i}]`, `must be finite, got ${v}`)));
  const split = config.split ?? [0.8, 0.1, 0.1];
  checkSplit(split, 'generateSynthetic');
  const bias = config.bias ?? -1;
  if (!Number.isFinite(bias)) bad('bias', `must be finite, got ${bias}`);
  const startTime = config.startTime ?? 1.6e9;
  if (!Number.isFinite(startTime) || startTime < 0) bad('startTime', `must be a non-negative number, got ${startTime}`);
  const itemBiasStd = config.itemBiasStd ?? 0.3;
  if (!Number.isFinite(itemBiasStd) || itemBiasStd < 0) bad('itemBiasStd', `must be >= 0, got ${itemBiasStd}`);
  return {
    seed: config.seed,
    numUsers: config.numUsers,
    numItems: config.numItems,
    numCategories: config.numCategories,
    historyLength: { min: h.min, median: h.median, max: h.max, sigma: h.sigma ?? 0.6 },
    numInterests: { min: ni.min, max: ni.max },
    latentDim: posInt(config.latentDim ?? 16, 'latentDim'),
    meanGapSeconds: pos(config.meanGapSeconds ?? 1800, 'meanGapSeconds'),
    activeSeconds: pos(config.activeSeconds ?? 3 * DAY, 'activeSeconds'),
    dormantSeconds: pos(config.dormantSeconds ?? 15 * DAY, 'dormantSeconds'),
    decayHalfLivesSeconds: [...halfLives],
    decayWeights: [...weights],
    noise: prob(config.noise ?? 0.15, 'noise'),
    impressionsPerUser: posInt(config.impressionsPerUser ?? 10, 'impressionsPerUser'),
    targetInterestProb: prob(config.targetInterestProb ?? 0.5, 'targetInterestProb'),
    bias,
    itemBiasStd,
    startTime,
    split,
  };
}

/** The ground truth: scores any (history, target) with the generator's own click model. */
export interface SyntheticOracle {
  /** [(numItems + 1) * latentDim] unit item vectors (row 0 zero). */
  itemVectors: Float32Array;
  itemBias: Float32Array;
  latentDim: number;
  /** True click probability of `item` at `time` given the rows [userStart, endOffset), optionally only the newest `lastN`. */
  probability(user: number, endOffset: number, item: number, time: number, lastN?: number): number;
  /** `probability` for every sample of a set. */
  probabilities(samples: CtrSampleSet, lastN?: number): Float32Array;
}

export interface SyntheticDataset {
  table: EventTable;
  schema: DatasetSchema;
  /** Impressions split 80/10/10 by time per user; each set carries `trueProb`. */
  samples: CtrSplits;
  oracle: SyntheticOracle;
  config: ResolvedSyntheticConfig;
}

function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

function drawCdf(cdf: Float64Array, lo: number, hi: number, u: number): number {
  // smallest k in [lo, hi) with cdf[k] > u (cdf is cumulative within the slice)
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const m = (a + b) >> 1;
    if (cdf[m]! > u) b = m;
    else a = m + 1;
  }
  return a;
}

function pickBehavior(rng: Rng, cdf: number[]): number {
  const u = rng.next();
  return u < cdf[0]! ? 1 : u < cdf[1]! ? 2 : 3;
}

/**
 * Generates ultra-long users with a known click model: items in categories with latent
 * vectors, users whose interests go dormant and return, and a true click probability from the
 * whole history with multi-scale exponential time decay. Same config ⇒ same data.
 */
export function generateSynthetic(input: SyntheticConfig): SyntheticDataset {
  const cfg = resolveSyntheticConfig(input);
  const rng = createRng(cfg.seed);
  const { numUsers, numItems, numCategories: C, latentDim: d } = cfg;
  const R = cfg.decayHalfLivesSeconds.length;
  const lambda = cfg.decayHalfLivesSeconds.map((h) => Math.LN2 / h);
  const alpha = cfg.decayWeights;

  // Items: a category each (every category non-empty), a unit latent vector near its centre.
  const centres = new Float64Array(C * d);
  for (let c = 0; c < C; c++) {
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (centres[c * d + k] = rng.normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) centres[c * d + k]! /= norm;
  }
  const itemCategory = new Int32Array(numItems + 1);
  const perm = rng.permutation(numItems);
  for (let k = 0; k < numItems; k++) itemCategory[perm[k]! + 1] = k < C ? k + 1 : 1 + rng.int(C);
  const itemVectors = new Float32Array((numItems + 1) * d);
  const itemBias = new Float32Array(numItems + 1);
  const spread = 0.6 / Math.sqrt(d);
  for (let x = 1; x <= numItems; x++) {
    const c = itemCategory[x]! - 1;
    let norm = 0;
    const v = new Float64Array(d);
    for (let k = 0; k < d; k++) norm += (v[k] = centres[c * d + k]! + spread * rng.normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) itemVectors[x * d + k] = v[k]! / norm;
    itemBias[x] = cfg.itemBiasStd * rng.normal();
  }
  // Items grouped by category with Zipf(0.8) popularity inside the category.
  const catStart = new Int32Array(C + 2);
  for (let x = 1; x <= numItems; x++) catStart[itemCategory[x]!]!++; // slot c0 + 1 for 0-based c0
  for (let c = 1; c <= C + 1; c++) catStart[c]! += catStart[c - 1]!;
  const catItems = new Int32Array(numItems);
  const fillAt = catStart.slice();
  for (let x = 1; x <= numItems; x++) catItems[fillAt[itemCategory[x]! - 1]!++] = x;
  const catCdf = new Float64Array(numItems);
  for (let c = 0; c < C; c++) {
    let total = 0;
    for (let k = catStart[c]!; k < catStart[c + 1]!; k++) total += 1 / Math.pow(k - catStart[c]! + 1, 0.8);
    let acc = 0;
    for (let k = catStart[c]!; k < catStart[c + 1]!; k++) catCdf[k] = (acc += 1 / Math.pow(k - catStart[c]! + 1, 0.8) / total);
    catCdf[catStart[c + 1]! - 1] = 1;
  }
  const drawFromCategory = (c: number): number => catItems[drawCdf(catCdf, catStart[c]!, catStart[c + 1]!, rng.next())]!;

  // History lengths first, so the event arrays are allocated once.
  const lengths = new Int32Array(numUsers + 1);
  let total = 0;
  const h = cfg.historyLength;
  for (let u = 1; u <= numUsers; u++) {
    const n = Math.round(h.median * Math.exp(h.sigma * rng.normal()));
    lengths[u] = Math.min(h.max, Math.max(h.min, n));
    total += lengths[u]!;
  }
  if (total > 2 ** 31 - 1) throw new VqlDataError('INVALID_ARGUMENT', `generateSynthetic: ${total} events exceed int32 offsets.`);
  const userOffsets = new Int32Array(numUsers + 2);
  for (let u = 1; u <= numUsers; u++) userOffsets[u + 1] = userOffsets[u]! + lengths[u]!;
  const user = new Int32Array(total);
  const item = new Int32Array(total);
  const time = new Float64Array(total);
  const behavior = new Int32Array(total);

  const P = cfg.impressionsPerUser;
  const splitWriters = [0, 1, 2].map(() => ({ user: [] as number[], end: [] as number[], item: [] as number[], time: [] as number[], label: [] as number[], prob: [] as number[] }));
  const S = new Float64Array(R * d);
  const N = new Float64Array(R);
  const maxInterests = cfg.numInterests.max;
  const interestCat = new Int32Array(maxInterests);
  const interestCdf = new Float64Array(maxInterests);
  const active = new Uint8Array(maxInterests);
  const nextSwitch = new Float64Array(maxInterests);
  const impressionAt = new Int32Array(P);
  const pActive = cfg.activeSeconds / (cfg.activeSeconds + cfg.dormantSeconds);

  const logitFromSums = (x: number): number => {
    let z = cfg.bias + itemBias[x]!;
    for (let r = 0; r < R; r++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += S[r * d + k]! * itemVectors[x * d + k]!;
      z += (alpha[r]! * dot) / (N[r]! + 1);
    }
    return z;
  };

  for (let u = 1; u <= numUsers; u++) {
    const lo = userOffsets[u]!;
    const n = lengths[u]!;
    // Interests: distinct categories with random weights, each on an alternating active/dormant clock.
    const K = cfg.numInterests.min + rng.int(cfg.numInterests.max - cfg.numInterests.min + 1);
    const cats = rng.permutation(C);
    for (let k = 0; k < K; k++) {
      interestCat[k] = cats[k]!;
      interestCdf[k] = exponential(rng, 1);
    }
    let t = cfg.startTime + rng.next() * 30 * DAY;
    for (let k = 0; k < K; k++) {
      active[k] = rng.next() < pActive ? 1 : 0;
      nextSwitch[k] = t + exponential(rng, active[k] ? cfg.activeSeconds : cfg.dormantSeconds);
    }
    // Impressions at random positions after a short warm-up, in time order.
    const warm = Math.min(n - 1, Math.max(1, Math.floor(0.1 * n)));
    for (let p = 0; p < P; p++) impressionAt[p] = warm + rng.int(n - warm);
    impressionAt.sort();
    const [a, b] = splitPoints(P, cfg.split);
    S.fill(0);
    N.fill(0);
    let last = t;
    let p = 0;
    for (let i = 0; i < n; i++) {
      t += exponential(rng, cfg.meanGapSeconds);
      for (let r = 0; r < R; r++) {
        const f = Math.exp(-lambda[r]! * (t - last));
        N[r]! *= f;
        for (let k = 0; k < d; k++) S[r * d + k]! *= f;
      }
      last = t;
      while (p < P && impressionAt[p] === i) {
        // The candidate: half from the user's interests (active or dormant alike), half random.
        let x: number;
        if (rng.next() < cfg.targetInterestProb) x = drawFromCategory(interestCat[rng.int(K)]!);
        else x = 1 + rng.int(numItems);
        const prob = 1 / (1 + Math.exp(-logitFromSums(x)));
        const w = splitWriters[p < a ? 0 : p < b ? 1 : 2]!;
        w.user.push(u);
        w.end.push(lo + i);
        w.item.push(x);
        w.time.push(t);
        w.prob.push(prob);
        w.label.push(rng.next() < prob ? 1 : 0);
        p++;
      }
      let activeWeight = 0;
      for (let k = 0; k < K; k++) {
        while (t >= nextSwitch[k]!) {
          active[k] = active[k] ? 0 : 1;
          nextSwitch[k]! += exponential(rng, active[k] ? cfg.activeSeconds : cfg.dormantSeconds);
        }
        if (active[k]) activeWeight += interestCdf[k]!;
      }
      let x: number;
      let beh: number;
      if (activeWeight === 0 || rng.next() < cfg.noise) {
        x = drawFromCategory(rng.int(C));
        beh = pickBehavior(rng, EXPLORE_BEHAVIOR_CDF);
      } else {
        let v = rng.next() * activeWeight;
        let k = 0;
        for (; k < K - 1; k++) {
          if (!active[k]) continue;
          if ((v -= interestCdf[k]!) < 0) break;
        }
        while (!active[k]) k--; // rounding at the end of the scan
        x = drawFromCategory(interestCat[k]!);
        beh = pickBehavior(rng, INTEREST_BEHAVIOR_CDF);
      }
      const e = lo + i;
      user[e] = u;
      item[e] = x;
      time[e] = t;
      behavior[e] = beh;
      const s = BEHAVIOR_WEIGHT[beh]!;
      for (let r = 0; r < R; r++) {
        N[r]! += s;
        for (let k = 0; k < d; k++) S[r * d + k]! += s * itemVectors[x * d + k]!;
      }
    }
  }

  const report: CleaningReport = {
    rowsRead: total,
    eventsKept: total,
    droppedNegativeTime: 0,
    droppedFutureTime: 0,
    droppedOutOfWindow: 0,
    droppedDuplicates: 0,
    droppedShortUserEvents: 0,
    droppedUsers: 0,
    droppedOther: {},
    itemsMissingContext: { category: 0 },
    itemContextConflicts: 0,
  };
  const schema: DatasetSchema = {
    numUsers,
    numItems,
    context: [
      { name: 'category', kind: 'categorical', scope: 'item', vocabSize: C },
      { name: 'behavior', kind: 'categorical', scope: 'event', vocabSize: SYNTHETIC_BEHAVIORS.length },
    ],
    hasExplicitLabels: false,
  };
  const rawUserId = new Float64Array(numUsers + 1);
  for (let u = 1; u <= numUsers; u++) rawUserId[u] = u;
  const rawItemId = new Float64Array(numItems + 1);
  for (let x = 1; x <= numItems; x++) rawItemId[x] = x;
  const table: EventTable = {
    name: 'synthetic',
    schema,
    numEvents: total,
    userOffsets,
    user,
    item,
    time,
    label: new Float32Array(total).fill(1),
    eventContext: { behavior },
    itemContext: { category: itemCategory },
    rawUserId,
    rawItemId,
    vocabularies: {
      category: ['', ...Array.from({ length: C }, (_, c) => `c${c + 1}`)],
      behavior: ['', ...SYNTHETIC_BEHAVIORS],
    },
    report,
  };
  const finish = (w: (typeof splitWriters)[number]): CtrSampleSet => ({
    table,
    size: w.user.length,
    user: Int32Array.from(w.user),
    endOffset: Int32Array.from(w.end),
    targetItem: Int32Array.from(w.item),
    targetTime: Float64Array.from(w.time),
    label: Float32Array.from(w.label),
    trueProb: Float32Array.from(w.prob),
  });
  const samples: CtrSplits = { train: finish(splitWriters[0]!), valid: finish(splitWriters[1]!), test: finish(splitWriters[2]!) };

  const probability = (u: number, end: number, x: number, tq: number, lastN?: number): number => {
    const start = Math.max(userOffsets[u]!, lastN === undefined ? 0 : end - lastN);
    let z = cfg.bias + itemBias[x]!;
    for (let r = 0; r < R; r++) {
      let num = 0;
      let den = 0;
      for (let i = start; i < end; i++) {
        const w = BEHAVIOR_WEIGHT[behavior[i]!]! * Math.exp(-lambda[r]! * (tq - time[i]!));
        let dot = 0;
        const xi = item[i]! * d;
        for (let k = 0; k < d; k++) dot += itemVectors[xi + k]! * itemVectors[x * d + k]!;
        num += w * dot;
        den += w;
      }
      z += (alpha[r]! * num) / (den + 1);
    }
    return 1 / (1 + Math.exp(-z));
  };
  const oracle: SyntheticOracle = {
    itemVectors,
    itemBias,
    latentDim: d,
    probability(u, end, x, tq, lastN) {
      if (lastN !== undefined && (!Number.isInteger(lastN) || lastN < 0)) {
        throw new VqlDataError('INVALID_ARGUMENT', `oracle.probability: lastN must be a non-negative integer, got ${lastN}.`);
      }
      if (!(u >= 1 && u <= numUsers) || !(x >= 1 && x <= numItems)) {
        throw new VqlDataError('INVALID_ARGUMENT', `oracle.probability: user ${u} or item ${x} out of range.`);
      }
      if (!(end >= userOffsets[u]! && end <= userOffsets[u + 1]!)) {
        throw new VqlDataError('INVALID_ARGUMENT', `oracle.probability: endOffset ${end} outside user ${u}'s rows.`);
      }
      return probability(u, end, x, tq, lastN);
    },
    probabilities(set, lastN) {
      const out = new Float32Array(set.size);
      for (let s = 0; s < set.size; s++) out[s] = oracle.probability(set.user[s]!, set.endOffset[s]!, set.targetItem[s]!, set.targetTime[s]!, lastN);
      return out;
    },
  };
  return { table, schema, samples, oracle, config: cfg };
}
