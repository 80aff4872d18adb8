import { createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { VqlDataError } from './errors.js';
import { emptyCleaningReport } from './event-table-builder.js';
import type { CtrSampleSet, CtrSplits } from './samples.js';
import { checkSplit, splitPoints } from './samples.js';
import type { DatasetSchema, EventTable } from './types.js';

const DAY = 86_400;

/** Parameters of the synthetic ultra-long generator (README: "Synthetic generative process"). */
export interface SyntheticConfig {
  seed: number | string;
  numUsers: number;
  numItems: number;
  numCategories: number;
  /** Events per user: log-normal around `median` (spread `sigma`, default 0.6), clipped to [min, max]. */
  historyLength: { min: number; median: number; max: number; sigma?: number };
  /** Topics (sub-clusters) per category: interests are topics, not whole categories. Default 4. */
  topicsPerCategory?: number;
  /** Interests (topics) per user, uniform in [min, max]; default { min: 3, max: 6 }. */
  numInterests?: { min: number; max: number };
  /** Latent dimension of items; default 8 (a model head of width ≥ 8 can represent the true match exactly). */
  latentDim?: number;
  /** Mean seconds between a user's events; default 1800. */
  meanGapSeconds?: number;
  /** Mean length of an interest's active / dormant periods; defaults 4 and 40 days. */
  activeSeconds?: number;
  dormantSeconds?: number;
  /** Half-life of each head of the true click model's target attention; default [1 d, 30 d, 365 d]. */
  decayHalfLivesSeconds?: number[];
  /** Weight α_r of each head's attention-weighted match in the logit; default [3, 3, 5]. */
  decayWeights?: number[];
  /**
   * The match m(x, x_i) of a past behaviour with a candidate, summed: same category, same topic,
   * and the dot product of the two items' unit latent vectors (item-level; carries the category
   * and topic through the vectors). Default { category: 0, topic: 0, item: 1 }.
   */
  matchWeights?: { category: number; topic: number; item: number };
  /** Sharpness β of the true attention: a behaviour's weight grows as e^{β·m}; default 2. */
  attentionSharpness?: number;
  /** Weight of each behaviour type (view, like, share) in the attention; default [1, 2.5, 5]. */
  behaviorWeights?: [number, number, number];
  /** Probability that a behaviour is random exploration instead of an interest; default 0.15. */
  noise?: number;
  /** Candidate impressions (samples) per user; default 10. */
  impressionsPerUser?: number;
  /** Probability that a candidate comes from one of the user's interests (active or dormant); default 0.4. */
  targetInterestProb?: number;
  /** Probability that a candidate is from an interest's category but another topic; default 0.4. */
  confuserProb?: number;
  /** Logit intercept; default -4. */
  bias?: number;
  /** Std of the per-item logit bias; default 0.1. */
  itemBiasStd?: number;
  /** Std of the noise on the item `modality` feature around its topic's coordinate, in units of a category's width; default 0.04. */
  modalityNoise?: number;
  /**
   * Item content features `content1` … `contentK`: the first K coordinates of the item's latent
   * vector plus N(0, contentNoise²), numeric (16 buckets over [−0.7, 0.7]); a stand-in for a
   * content embedding that carries the item-level part of the match. Default 0 (none, and the
   * data are those of a config without the field).
   */
  contentDims?: number;
  /** Std of the noise on the content features; default 0.05. */
  contentNoise?: number;
  /** Time of the earliest possible event, epoch seconds; default 1.6e9. */
  startTime?: number;
  split?: readonly [number, number, number];
}

export type ResolvedSyntheticConfig = Required<Omit<SyntheticConfig, 'historyLength' | 'numInterests' | 'matchWeights' | 'behaviorWeights'>> & {
  historyLength: { min: number; median: number; max: number; sigma: number };
  numInterests: { min: number; max: number };
  matchWeights: { category: number; topic: number; item: number };
  behaviorWeights: [number, number, number];
};

/** Behaviour types of the `behavior` event feature. */
export const SYNTHETIC_BEHAVIORS = ['view', 'like', 'share'] as const;
const INTEREST_BEHAVIOR_CDF = [0.65, 0.93, 1];
const EXPLORE_BEHAVIOR_CDF = [0.9, 0.99, 1];
/** Attention mass of a null behaviour (match 0) in every head: a user with little history has weak, not extreme, matches. */
const NULL_MASS = 1;

const CONFIG_KEYS = new Set<string>([
  'seed', 'numUsers', 'numItems', 'numCategories', 'historyLength', 'topicsPerCategory', 'numInterests', 'latentDim', 'meanGapSeconds',
  'activeSeconds', 'dormantSeconds', 'decayHalfLivesSeconds', 'decayWeights', 'matchWeights', 'behaviorWeights', 'noise', 'impressionsPerUser',
  'targetInterestProb', 'confuserProb', 'bias', 'itemBiasStd', 'modalityNoise', 'contentDims', 'contentNoise', 'startTime', 'split', 'attentionSharpness',
]);

export function resolveSyntheticConfig(config: SyntheticConfig): ResolvedSyntheticConfig {
  const bad = (field: string, why: string): never => {
    throw new VqlDataError('INVALID_ARGUMENT', `generateSynthetic: config.${field} ${why}.`);
  };
  const posInt = (v: number, field: string) => (Number.isInteger(v) && v > 0 ? v : bad(field, `must be a positive integer, got ${v}`));
  const pos = (v: number, field: string) => (Number.isFinite(v) && v > 0 ? v : bad(field, `must be a positive number, got ${v}`));
  const nonNeg = (v: number, field: string) => (Number.isFinite(v) && v >= 0 ? v : bad(field, `must be a finite number >= 0, got ${v}`));
  const prob = (v: number, field: string) => (Number.isFinite(v) && v >= 0 && v <= 1 ? v : bad(field, `must be in [0, 1], got ${v}`));
  if (config === null || typeof config !== 'object') bad('', 'must be an object');
  for (const key of Object.keys(config)) if (!CONFIG_KEYS.has(key)) bad(key, 'is not a known field');
  posInt(config.numUsers, 'numUsers');
  posInt(config.numCategories, 'numCategories');
  posInt(config.numItems, 'numItems');
  const topics = posInt(config.topicsPerCategory ?? 4, 'topicsPerCategory');
  if (config.numItems < config.numCategories * topics) {
    bad('numItems', `must be >= numCategories × topicsPerCategory (${config.numCategories * topics}), got ${config.numItems}`);
  }
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
  const halfLives = config.decayHalfLivesSeconds ?? [DAY, 30 * DAY, 365 * DAY];
  const weights = config.decayWeights ?? [3, 3, 5];
  if (halfLives.length === 0 || halfLives.length !== weights.length) {
    bad('decayWeights', `must have one weight per half-life (${halfLives.length}), got ${weights.length}`);
  }
  halfLives.forEach((v, i) => pos(v, `decayHalfLivesSeconds[${i}]`));
  weights.forEach((v, i) => (Number.isFinite(v) ? v : bad(`decayWeights[${i}]`, `must be finite, got ${v}`)));
  const mw = config.matchWeights ?? { category: 0, topic: 0, item: 1 };
  for (const k of ['category', 'topic', 'item'] as const) nonNeg(mw[k], `matchWeights.${k}`);
  const bw = config.behaviorWeights ?? [1, 2.5, 5];
  if (!Array.isArray(bw) || bw.length !== 3) bad('behaviorWeights', `must have one weight per behaviour (${SYNTHETIC_BEHAVIORS.join(', ')}), got ${JSON.stringify(bw)}`);
  bw.forEach((v, i) => pos(v, `behaviorWeights[${i}]`));
  const split = config.split ?? [0.8, 0.1, 0.1];
  checkSplit(split, 'generateSynthetic');
  const bias = config.bias ?? -4;
  if (!Number.isFinite(bias)) bad('bias', `must be finite, got ${bias}`);
  const startTime = config.startTime ?? 1.6e9;
  if (!Number.isFinite(startTime) || startTime < 0) bad('startTime', `must be a non-negative number, got ${startTime}`);
  const targetInterestProb = prob(config.targetInterestProb ?? 0.4, 'targetInterestProb');
  const confuserProb = prob(config.confuserProb ?? 0.4, 'confuserProb');
  if (targetInterestProb + confuserProb > 1) bad('confuserProb', `plus targetInterestProb must be <= 1, got ${targetInterestProb + confuserProb}`);
  const latentDim = posInt(config.latentDim ?? 8, 'latentDim');
  const contentDims = config.contentDims ?? 0;
  if (!(Number.isInteger(contentDims) && contentDims >= 0 && contentDims <= latentDim)) bad('contentDims', `must be an integer in 0..latentDim (${latentDim}), got ${contentDims}`);
  return {
    seed: config.seed,
    numUsers: config.numUsers,
    numItems: config.numItems,
    numCategories: config.numCategories,
    historyLength: { min: h.min, median: h.median, max: h.max, sigma: h.sigma ?? 0.6 },
    topicsPerCategory: topics,
    numInterests: { min: ni.min, max: ni.max },
    latentDim,
    meanGapSeconds: pos(config.meanGapSeconds ?? 1800, 'meanGapSeconds'),
    activeSeconds: pos(config.activeSeconds ?? 4 * DAY, 'activeSeconds'),
    dormantSeconds: pos(config.dormantSeconds ?? 40 * DAY, 'dormantSeconds'),
    decayHalfLivesSeconds: [...halfLives],
    decayWeights: [...weights],
    matchWeights: { category: mw.category, topic: mw.topic, item: mw.item },
    behaviorWeights: [bw[0], bw[1], bw[2]],
    noise: prob(config.noise ?? 0.15, 'noise'),
    impressionsPerUser: posInt(config.impressionsPerUser ?? 10, 'impressionsPerUser'),
    targetInterestProb,
    confuserProb,
    bias,
    itemBiasStd: nonNeg(config.itemBiasStd ?? 0.1, 'itemBiasStd'),
    attentionSharpness: nonNeg(config.attentionSharpness ?? 2, 'attentionSharpness'),
    modalityNoise: nonNeg(config.modalityNoise ?? 0.04, 'modalityNoise'),
    contentDims,
    contentNoise: nonNeg(config.contentNoise ?? 0.05, 'contentNoise'),
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
  /** Impressions split by time per user (`config.split`, default 80/10/10); each set carries `trueProb`. */
  samples: CtrSplits;
  oracle: SyntheticOracle;
  config: ResolvedSyntheticConfig;
}

/** Items with their category, topic, latent vector, bias, modality feature and popularity. */
interface Catalogue {
  category: Int32Array; // [numItems + 1], 1-based category
  topic: Int32Array; // [numItems + 1], global 0-based topic id (category · T + local topic)
  vectors: Float32Array; // [(numItems + 1) · d], unit rows
  bias: Float32Array; // [numItems + 1]
  modality: Float32Array; // [numItems + 1]
  /** content1 … contentK (in that order), each [numItems + 1]; empty without content features. */
  content: Record<string, Float32Array>;
  /** Draws an item of a global topic, Zipf(0.8) popularity inside the topic. */
  drawFromTopic(topic: number, u: number): number;
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

function unitNormal(rng: Rng, d: number): Float64Array {
  const v = new Float64Array(d);
  let norm = 0;
  for (let k = 0; k < d; k++) norm += (v[k] = rng.normal()) ** 2;
  norm = Math.sqrt(norm);
  for (let k = 0; k < d; k++) v[k]! /= norm;
  return v;
}

/**
 * Step 1: the catalogue. Each category has T topics; an item's latent vector is its category
 * centre + its topic offset + item noise (so similarity is graded: same topic > same category >
 * other); every topic is non-empty. `modality` is a dense item feature, a stand-in for a content
 * embedding's cluster coordinate: topic g of G sits at (g + 0.5)/G (topics of one category side by
 * side), so its buckets identify the topic of items whose id embedding is untrained.
 */
function buildCatalogue(cfg: ResolvedSyntheticConfig, rng: Rng): Catalogue {
  const { numItems, numCategories: C, latentDim: d, topicsPerCategory: T } = cfg;
  const centres = Array.from({ length: C }, () => unitNormal(rng, d));
  const offsets = Array.from({ length: C * T }, () => unitNormal(rng, d));
  const category = new Int32Array(numItems + 1);
  const topic = new Int32Array(numItems + 1);
  const perm = rng.permutation(numItems);
  for (let k = 0; k < numItems; k++) {
    const g = k < C * T ? k : rng.int(C * T);
    topic[perm[k]! + 1] = g;
    category[perm[k]! + 1] = Math.floor(g / T) + 1;
  }
  const vectors = new Float32Array((numItems + 1) * d);
  const bias = new Float32Array(numItems + 1);
  const modality = new Float32Array(numItems + 1);
  // Norms: centre 1, topic offset 1.2, item noise ~0.5 ⇒ cosine ≈ 0.9 within a topic, ≈ 0.37
  // across topics of a category, ≈ 0 across categories.
  const itemNoise = 0.5 / Math.sqrt(d);
  const v = new Float64Array(d);
  modality[0] = Number.NaN; // padding: the feature's "missing" bucket
  for (let x = 1; x <= numItems; x++) {
    const c = category[x]! - 1;
    const g = topic[x]!;
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (v[k] = centres[c]![k]! + 1.2 * offsets[g]![k]! + itemNoise * rng.normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) vectors[x * d + k] = v[k]! / norm;
    bias[x] = cfg.itemBiasStd * rng.normal();
    modality[x] = (g + 0.5 + cfg.modalityNoise * T * rng.normal()) / (C * T);
  }
  // Content features from a stream of their own (seeded apart, not drawn from `rng`): every other
  // column is the same with or without them.
  const columns = Array.from({ length: cfg.contentDims }, () => new Float32Array(numItems + 1).fill(Number.NaN));
  if (cfg.contentDims > 0) {
    const crng = createRng(`${cfg.seed}:content`);
    for (let x = 1; x <= numItems; x++) for (let k = 0; k < cfg.contentDims; k++) columns[k]![x] = vectors[x * d + k]! + cfg.contentNoise * crng.normal();
  }
  const content = Object.fromEntries(columns.map((col, k) => [`content${k + 1}`, col]));
  // Items grouped by topic with Zipf(0.8) popularity inside the topic.
  const start = new Int32Array(C * T + 1);
  for (let x = 1; x <= numItems; x++) start[topic[x]! + 1]!++;
  for (let g = 1; g <= C * T; g++) start[g]! += start[g - 1]!;
  const items = new Int32Array(numItems);
  const fill = start.slice();
  for (let x = 1; x <= numItems; x++) items[fill[topic[x]!]!++] = x;
  const cdf = new Float64Array(numItems);
  for (let g = 0; g < C * T; g++) {
    let total = 0;
    for (let k = start[g]!; k < start[g + 1]!; k++) total += 1 / Math.pow(k - start[g]! + 1, 0.8);
    let acc = 0;
    for (let k = start[g]!; k < start[g + 1]!; k++) cdf[k] = acc += 1 / Math.pow(k - start[g]! + 1, 0.8) / total;
    cdf[start[g + 1]! - 1] = 1;
  }
  return {
    category,
    topic,
    vectors,
    bias,
    modality,
    content,
    drawFromTopic: (g, u) => items[drawCdf(cdf, start[g]!, start[g + 1]!, u)]!,
  };
}

/**
 * The behaviours a click is scored on: parallel event columns (the table's, or the ones being
 * generated) and, per event and head r, e^{λ_r (t_i − anchor_i)} around the anchor time of the
 * event's segment, so a decay e^{−λ_r (t − t_i)} costs one product instead of an exp. A user's
 * first behaviour starts a segment; a behaviour whose factor would pass e^{MAX_GROWTH_EXPONENT}
 * for the fastest head starts the next one (histories of 10⁵ behaviours span years).
 */
interface EventColumns {
  item: Int32Array;
  time: Float64Array;
  behavior: Int32Array;
  growth: Float64Array; // [events × R]
  anchor: Float64Array; // [events]: the anchor time its growth factors are taken around
}

/** Above this exponent e^{λ·span} loses the small terms of a sum (float64 keeps e^{-36} of 1). */
const MAX_GROWTH_EXPONENT = 600;

/** e^{λ_r (t − anchor)} for every head into out[at…at+R). */
function growthAt(lambda: readonly number[], t: number, anchor: number, out: Float64Array, at: number): void {
  for (let r = 0; r < lambda.length; r++) out[at + r] = Math.exp(lambda[r]! * (t - anchor));
}

/**
 * The true click model: a multi-head target attention over the behaviours [from, to) of one
 * user, one head per decay rate λ_r. Head r weighs behaviour i by
 * w_i · e^{β·m(x, x_i)} · e^{−λ_r (t − t_i)} (behaviour type, match, recency) and reads out the
 * weighted mean match; a null behaviour of mass 1 and match 0 sits in every head:
 * logit(x, t) = bias + b_x + Σ_r α_r · Σ_i a_ri m(x, x_i) / (1 + Σ_i a_ri).
 * It has the form of target attention with a temporal kernel and a per-behaviour logit bias
 * (DESIGN §1), so a model of that family can represent it. O(d + R) per (candidate, behaviour).
 */
function clickLogit(cfg: ResolvedSyntheticConfig, lambda: readonly number[], cat: Catalogue, events: EventColumns, from: number, to: number, x: number, t: number): number {
  const { matchWeights: m, decayWeights: alpha, behaviorWeights: bw, attentionSharpness: beta, latentDim: d } = cfg;
  const R = lambda.length;
  const num = new Float64Array(R);
  const den = new Float64Array(R);
  // Σ over finished segments of α_r·num·e^{−λ_r (t − anchor)} and den·e^{−λ_r (t − anchor)}: old
  // segments' factors underflow to 0, as their behaviours' decayed weights do.
  const numer = new Float64Array(R);
  const denom = new Float64Array(R);
  let anchor = from < to ? events.anchor[from]! : t;
  const flush = (): void => {
    for (let r = 0; r < R; r++) {
      // The null behaviour's mass 1 is at the target time; sums are at scale e^{λ(t_i − anchor)}.
      const f = Math.exp(-lambda[r]! * (t - anchor));
      numer[r]! += alpha[r]! * num[r]! * f;
      denom[r]! += den[r]! * f;
      num[r] = 0;
      den[r] = 0;
    }
  };
  const cx = cat.category[x]!;
  const gx = cat.topic[x]!;
  const vx = x * d;
  for (let i = from; i < to; i++) {
    if (events.anchor[i] !== anchor) {
      flush();
      anchor = events.anchor[i]!;
    }
    const y = events.item[i]!;
    let dot = 0;
    for (let k = 0, vy = y * d; k < d; k++) dot += cat.vectors[vy + k]! * cat.vectors[vx + k]!;
    const match = m.item * dot + (cat.category[y] === cx ? m.category : 0) + (cat.topic[y] === gx ? m.topic : 0);
    const w = bw[events.behavior[i]! - 1]! * Math.exp(beta * match);
    for (let r = 0; r < R; r++) {
      const a = w * events.growth[i * R + r]!;
      den[r]! += a;
      num[r]! += a * match;
    }
  }
  flush();
  let z = cfg.bias + cat.bias[x]!;
  for (let r = 0; r < R; r++) z += numer[r]! / (NULL_MASS + denom[r]!);
  return z;
}

/** A user's interests: topics with weights, each on an alternating active / dormant clock. */
class InterestClock {
  readonly topics: Int32Array;
  private readonly weight: Float64Array;
  private readonly active: Uint8Array;
  private readonly nextSwitch: Float64Array;
  private count = 0;

  constructor(private readonly cfg: ResolvedSyntheticConfig) {
    const max = cfg.numInterests.max;
    this.topics = new Int32Array(max);
    this.weight = new Float64Array(max);
    this.active = new Uint8Array(max);
    this.nextSwitch = new Float64Array(max);
  }

  get size(): number {
    return this.count;
  }

  /** Draws K interests in distinct categories, starting at time t. */
  start(rng: Rng, t: number): void {
    const { numInterests, numCategories: C, topicsPerCategory: T, activeSeconds, dormantSeconds } = this.cfg;
    this.count = numInterests.min + rng.int(numInterests.max - numInterests.min + 1);
    const cats = rng.permutation(C);
    const pActive = activeSeconds / (activeSeconds + dormantSeconds);
    for (let k = 0; k < this.count; k++) {
      this.topics[k] = cats[k]! * T + rng.int(T);
      this.weight[k] = exponential(rng, 1);
      this.active[k] = rng.next() < pActive ? 1 : 0;
      this.nextSwitch[k] = t + exponential(rng, this.active[k] ? activeSeconds : dormantSeconds);
    }
    // Everyone starts with at least one active interest.
    if (!this.active.subarray(0, this.count).includes(1)) this.active[rng.int(this.count)] = 1;
  }

  /** Advances the clocks to t; returns the active interest a new behaviour comes from, or -1. */
  draw(rng: Rng, t: number): number {
    let total = 0;
    for (let k = 0; k < this.count; k++) {
      while (t >= this.nextSwitch[k]!) {
        this.active[k] = this.active[k] ? 0 : 1;
        this.nextSwitch[k]! += exponential(rng, this.active[k] ? this.cfg.activeSeconds : this.cfg.dormantSeconds);
      }
      if (this.active[k]) total += this.weight[k]!;
    }
    if (total === 0) return -1;
    let v = rng.next() * total;
    let last = -1;
    for (let k = 0; k < this.count; k++) {
      if (!this.active[k]) continue;
      last = k;
      if ((v -= this.weight[k]!) < 0) return k;
    }
    return last; // rounding at the end of the scan
  }
}

function pickBehavior(rng: Rng, cdf: number[]): number {
  const u = rng.next();
  return u < cdf[0]! ? 1 : u < cdf[1]! ? 2 : 3;
}

/** Step 2: history lengths, so the event arrays are allocated once. */
function drawLengths(cfg: ResolvedSyntheticConfig, rng: Rng): { lengths: Int32Array; userOffsets: Int32Array; total: number } {
  const { numUsers, historyLength: h } = cfg;
  const lengths = new Int32Array(numUsers + 1);
  let total = 0;
  for (let u = 1; u <= numUsers; u++) {
    lengths[u] = Math.min(h.max, Math.max(h.min, Math.round(h.median * Math.exp(h.sigma * rng.normal()))));
    total += lengths[u]!;
  }
  if (total > 2 ** 31 - 1) throw new VqlDataError('INVALID_ARGUMENT', `generateSynthetic: ${total} events exceed int32 offsets.`);
  const userOffsets = new Int32Array(numUsers + 2);
  for (let u = 1; u <= numUsers; u++) userOffsets[u + 1] = userOffsets[u]! + lengths[u]!;
  return { lengths, userOffsets, total };
}

interface SplitWriter {
  user: number[];
  end: number[];
  item: number[];
  time: number[];
  label: number[];
  prob: number[];
}

/**
 * Step 3: one user's behaviours and impressions. A candidate comes from one of the user's
 * interests (active or dormant alike), from an interest's category but another topic (a
 * "confuser" that category statistics mistake for a match), or from anywhere; its label is drawn
 * from the true probability given every behaviour before it.
 */
function simulateUser(
  u: number,
  ctx: { cfg: ResolvedSyntheticConfig; rng: Rng; cat: Catalogue; lambda: readonly number[]; clock: InterestClock; lo: number; n: number; writers: SplitWriter[] },
  out: EventColumns & { user: Int32Array },
): void {
  const { cfg, rng, cat, lambda, clock, lo, n, writers } = ctx;
  const T = cfg.topicsPerCategory;
  const G = cfg.numCategories * T;
  let t = cfg.startTime + rng.next() * 30 * DAY;
  // The current segment's anchor: the user's first behaviour (set at i = 0; impressions start at i ≥ 1), then each re-anchor.
  let anchor = t;
  const R = lambda.length;
  const fastest = Math.max(...lambda);
  clock.start(rng, t);
  const P = cfg.impressionsPerUser;
  const warm = Math.min(n - 1, Math.max(1, Math.floor(0.1 * n)));
  const impressionAt = Int32Array.from({ length: P }, () => warm + rng.int(n - warm)).sort();
  const [a, b] = splitPoints(P, cfg.split);
  let p = 0;
  for (let i = 0; i < n; i++) {
    t += exponential(rng, cfg.meanGapSeconds);
    if (i === 0) anchor = t;
    while (p < P && impressionAt[p] === i) {
      const v = rng.next();
      let x: number;
      if (v < cfg.targetInterestProb) {
        x = cat.drawFromTopic(clock.topics[rng.int(clock.size)]!, rng.next());
      } else if (v < cfg.targetInterestProb + cfg.confuserProb) {
        const own = clock.topics[rng.int(clock.size)]!;
        const other = Math.floor(own / T) * T + ((own % T) + 1 + rng.int(Math.max(1, T - 1))) % T;
        x = cat.drawFromTopic(T > 1 ? other : own, rng.next());
      } else {
        x = cat.drawFromTopic(rng.int(G), rng.next());
      }
      const prob = 1 / (1 + Math.exp(-clickLogit(cfg, lambda, cat, out, lo, lo + i, x, t)));
      const w = writers[p < a ? 0 : p < b ? 1 : 2]!;
      w.user.push(u);
      w.end.push(lo + i);
      w.item.push(x);
      w.time.push(t);
      w.prob.push(prob);
      w.label.push(rng.next() < prob ? 1 : 0);
      p++;
    }
    const k = clock.draw(rng, t);
    let x: number;
    let beh: number;
    if (k < 0 || rng.next() < cfg.noise) {
      x = cat.drawFromTopic(rng.int(G), rng.next());
      beh = pickBehavior(rng, EXPLORE_BEHAVIOR_CDF);
    } else {
      x = cat.drawFromTopic(clock.topics[k]!, rng.next());
      beh = pickBehavior(rng, INTEREST_BEHAVIOR_CDF);
    }
    const e = lo + i;
    out.user[e] = u;
    out.item[e] = x;
    out.time[e] = t;
    out.behavior[e] = beh;
    // A new segment before the fastest head's factor passes e^{MAX_GROWTH_EXPONENT}.
    if (fastest * (t - anchor) > MAX_GROWTH_EXPONENT) anchor = t;
    out.anchor[e] = anchor;
    growthAt(lambda, t, anchor, out.growth, e * R);
  }
}


/** Bucket edges of the content features: 16 buckets over [−0.7, 0.7] (a unit vector's coordinates in R^8 are ~±0.35). */
const CONTENT_EDGES = Array.from({ length: 15 }, (_, k) => Math.round((-0.7 + 0.1 * k) * 10) / 10);

/** Step 4: the event table and its schema (category, modality: item scope; behavior: event scope). */
function assembleTable(
  cfg: ResolvedSyntheticConfig,
  cat: Catalogue,
  userOffsets: Int32Array,
  events: { user: Int32Array; item: Int32Array; time: Float64Array; behavior: Int32Array },
): EventTable {
  const { numUsers, numItems, numCategories: C, topicsPerCategory: T } = cfg;
  const total = events.user.length;
  const schema: DatasetSchema = {
    numUsers,
    numItems,
    context: [
      { name: 'category', kind: 'categorical', scope: 'item', vocabSize: C },
      // Bucket edges between the topic coordinates (C·T + 1 buckets incl. the missing one).
      { name: 'modality', kind: 'numeric', scope: 'item', boundaries: C * T > 1 ? Array.from({ length: C * T - 1 }, (_, k) => (k + 1) / (C * T)) : [0.5] },
      ...Object.keys(cat.content).map((name) => ({ name, kind: 'numeric' as const, scope: 'item' as const, boundaries: CONTENT_EDGES })),
      { name: 'behavior', kind: 'categorical', scope: 'event', vocabSize: SYNTHETIC_BEHAVIORS.length },
    ],
    hasExplicitLabels: false,
  };
  return {
    name: 'synthetic',
    schema,
    numEvents: total,
    userOffsets,
    user: events.user,
    item: events.item,
    time: events.time,
    label: new Float32Array(total).fill(1),
    eventContext: { behavior: events.behavior },
    itemContext: { category: cat.category, modality: cat.modality, ...cat.content },
    rawUserId: Float64Array.from({ length: numUsers + 1 }, (_, u) => u),
    rawItemId: Float64Array.from({ length: numItems + 1 }, (_, x) => x),
    vocabularies: {
      category: ['', ...Array.from({ length: C }, (_, c) => `c${c + 1}`)],
      behavior: ['', ...SYNTHETIC_BEHAVIORS],
    },
    // Generated, not read: nothing to clean.
    report: { ...emptyCleaningReport(), rowsRead: total, eventsKept: total, itemsMissingContext: { category: 0, modality: 0, ...Object.fromEntries(Object.keys(cat.content).map((name) => [name, 0])) } },
  };
}

/** Step 5: the oracle, recomputing the click model from the rows (optionally the newest lastN only). */
function makeOracle(cfg: ResolvedSyntheticConfig, cat: Catalogue, table: EventTable, lambda: number[], growth: Float64Array, anchor: Float64Array): SyntheticOracle {
  const { numUsers, numItems } = cfg;
  const { userOffsets, item, time } = table;
  const behavior = table.eventContext['behavior'] as Int32Array;
  // The generator's growth factors and their segments' anchors.
  const events: EventColumns = { item, time, behavior, growth, anchor };
  const probability = (u: number, end: number, x: number, tq: number, lastN?: number): number => {
    const start = Math.max(userOffsets[u]!, lastN === undefined ? 0 : end - lastN);
    return 1 / (1 + Math.exp(-clickLogit(cfg, lambda, cat, events, start, end, x, tq)));
  };
  const oracle: SyntheticOracle = {
    itemVectors: cat.vectors,
    itemBias: cat.bias,
    latentDim: cfg.latentDim,
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
  return oracle;
}

/**
 * Generates ultra-long users with a known click model: items in categories and topics with
 * latent vectors, users whose topic interests go dormant and return, and a true click
 * probability from the whole history with multi-scale time decay, behaviour-type weights and
 * category-, topic- and item-level matches. Same config ⇒ same data.
 */
export function generateSynthetic(input: SyntheticConfig): SyntheticDataset {
  const cfg = resolveSyntheticConfig(input);
  const rng = createRng(cfg.seed);
  const lambda = cfg.decayHalfLivesSeconds.map((h) => Math.LN2 / h);
  const cat = buildCatalogue(cfg, rng);
  const { lengths, userOffsets, total } = drawLengths(cfg, rng);
  const events = { user: new Int32Array(total), item: new Int32Array(total), time: new Float64Array(total), behavior: new Int32Array(total), growth: new Float64Array(total * lambda.length), anchor: new Float64Array(total) };
  const writers: SplitWriter[] = [0, 1, 2].map(() => ({ user: [], end: [], item: [], time: [], label: [], prob: [] }));
  const clock = new InterestClock(cfg);
  for (let u = 1; u <= cfg.numUsers; u++) {
    simulateUser(u, { cfg, rng, cat, lambda, clock, lo: userOffsets[u]!, n: lengths[u]!, writers }, events);
  }
  const table = assembleTable(cfg, cat, userOffsets, events);
  const finish = (w: SplitWriter): CtrSampleSet => ({
    table,
    size: w.user.length,
    user: Int32Array.from(w.user),
    endOffset: Int32Array.from(w.end),
    targetItem: Int32Array.from(w.item),
    targetTime: Float64Array.from(w.time),
    label: Float32Array.from(w.label),
    trueProb: Float32Array.from(w.prob),
  });
  const samples: CtrSplits = { train: finish(writers[0]!), valid: finish(writers[1]!), test: finish(writers[2]!) };
  return { table, schema: table.schema, samples, oracle: makeOracle(cfg, cat, table, lambda, events.growth, events.anchor), config: cfg };
}
