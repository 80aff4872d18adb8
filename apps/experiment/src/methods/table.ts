import type { InterestModuleConfig } from '@vql/model';
import type { MethodName } from '../config.js';
import { ExperimentRunError } from '../errors.js';
import type { MethodContext, MethodEntry, MethodRole } from './method-entry.js';
import { floorScore, oracleScore } from './references.js';

// The method table: every method the runner knows is one entry below, and the runner, the planner
// and the latency study only ever read entries (no switch on method names elsewhere). Adding a
// method = one entry here (CONTRIBUTING.md). Online scorers are imported when the latency study
// runs, so reading the table stays light (no tfjs) for config checks and planning.

/** The learned separable temporal kernel every attention method gets (log κ(dt) on its logits). */
const kernelOf = ({ config }: MethodContext) => ({
  type: 'expDecayMixture',
  timeUnit: 'seconds',
  numRates: config.model.kernelRank,
  minTimescale: 3600,
  maxTimescale: 365.25 * 86400,
});

/** Heads and kernel: the same for VQL, full attention and every top-k baseline. */
const attentionOf = (c: MethodContext) => ({ heads: c.spec.heads, kernel: kernelOf(c) });

/** VQL and its ablations (spec.variant) — `whole-history` changes the model's history policy, not the module. */
function vqlInterest(c: MethodContext): InterestModuleConfig {
  const { spec } = c;
  return {
    kind: 'vql',
    ...attentionOf(c),
    groups: spec.codebookSizes.length,
    codebookSizes: spec.codebookSizes,
    ...(spec.variant === 'no-key-only' ? { quantizeValues: true } : {}),
    ...(spec.variant === 'no-multi-scale' ? { sharedCodebook: true } : {}),
    ...(spec.variant === 'no-temporal-kernel' ? { kernel: null } : {}),
  };
}

function simHardInterest(c: MethodContext): InterestModuleConfig {
  if (c.data.categoryFeature === null) throw new ExperimentRunError('NEEDS_CATEGORY_FEATURE', `sim-hard needs an item category feature; dataset ${c.data.name} has none`);
  // Every baseline gets time: the same learned kernel as VQL (log κ(dt) on its attention logits;
  // κ(dt) weights SDIM's bucket sums), or the compression methods' time-bucket embeddings.
  return { kind: 'sim-hard', ...attentionOf(c), k: c.config.model.topK, categoryFeature: c.data.categoryFeature };
}

const vqlScorers = () => import('./vql-scorers.js');
const topkScorers = () => import('./topk-scorers.js');

export const METHOD_TABLE: readonly MethodEntry[] = [
  {
    name: 'full-attention',
    role: 'exact',
    interest: (c) => ({ interest: { kind: 'full-attention', ...attentionOf(c) } }),
    // Timed over VQL's model: its exact keys and values, the same projections VQL quantises.
    latency: { modelOf: 'vql', scorer: async () => (await vqlScorers()).fullAttentionScorer },
  },
  {
    name: 'vql',
    role: 'subject',
    interest: (c) => ({ interest: vqlInterest(c) }),
    latency: { scorer: async () => (await vqlScorers()).vqlScorer },
  },
  { name: 'sim-hard', interest: (c) => ({ interest: simHardInterest(c) }) },
  {
    name: 'sim-soft',
    interest: (c) => ({ interest: { kind: 'sim-soft', ...attentionOf(c), k: c.config.model.topK }, auxLossWeight: 1 }),
    // (auxLossWeight 1: SIM soft's auxiliary loss is its search unit's own CTR loss, weighted as the main one, as in the SIM paper.)
  },
  {
    name: 'eta',
    interest: (c) => ({ interest: { kind: 'eta', ...attentionOf(c), k: c.config.model.topK, hashBits: 64 } }),
    latency: { scorer: async () => (await topkScorers()).etaScorer },
  },
  {
    name: 'twin',
    interest: (c) => ({ interest: { kind: 'twin', ...attentionOf(c), k: c.config.model.topK } }),
    latency: { scorer: async () => (await topkScorers()).twinScorer },
  },
  {
    name: 'sdim',
    interest: (c) => ({ interest: { kind: 'sdim', rounds: 16, hashBits: 3, kernel: kernelOf(c) } }),
    latency: { scorer: async () => (await topkScorers()).sdimScorer },
  },
  {
    name: 'slot-compression',
    interest: ({ spec, config }) => ({ interest: { kind: 'slot-compression', heads: spec.heads, slots: config.model.slots, maxLen: spec.L, useTime: true } }),
  },
  {
    name: 'multi-interest',
    // Pooling width d_a = d (ComiRec-SA uses 4d): 4× cheaper, it keeps `quick` within its budget.
    interest: ({ spec, config }) => ({ interest: { kind: 'multi-interest', heads: spec.heads, interests: config.model.slots, attentionDim: config.model.embeddingDim, useTime: true } }),
  },
  {
    // The one last-n: full attention over the newest `model.shortTermLength` behaviours only.
    name: 'last-n',
    window: (config) => config.model.shortTermLength,
    interest: (c) => ({ interest: { kind: 'full-attention', ...attentionOf(c) } }),
  },
  {
    name: 'floor',
    role: 'floor',
    reference: floorScore,
    label: (variant) => (variant === 'whole-history' ? 'floor (logistic, whole history)' : 'floor (logistic)'),
  },
  {
    name: 'oracle',
    role: 'ceiling',
    reference: oracleScore,
    label: (variant, L) => (variant === 'at-L' ? `oracle@${L}` : 'oracle (full history)'),
    // Only the synthetic generator knows the true model: the whole history and the newest L.
    variants: (dataset) => (dataset === 'synthetic' ? ['full-history', 'at-L'] : []),
  },
];

const byName = new Map<string, MethodEntry>(METHOD_TABLE.map((e) => [e.name, e]));

/** The table entry of `name`; throws naming the known methods. */
export function methodEntry(name: MethodName): MethodEntry {
  const entry = byName.get(name);
  if (entry === undefined) throw new ExperimentRunError('UNKNOWN_METHOD', `method "${name}" is not in the method table (${METHOD_TABLE.map((e) => e.name).join(', ')})`);
  return entry;
}

/** The entry's role; 'baseline' for entries without one and for names the table does not know. */
export function roleOf(name: string): MethodRole {
  return byName.get(name)?.role ?? 'baseline';
}

/** The one method with `role` (subject: VQL; exact: full attention; floor; ceiling: the oracle). */
export function methodWithRole(role: Exclude<MethodRole, 'baseline'>): MethodName {
  const entry = METHOD_TABLE.find((e) => e.role === role);
  if (entry === undefined) throw new ExperimentRunError('UNKNOWN_METHOD', `the method table has no ${role} method`);
  return entry.name;
}

/** The report's name of a row: its entry's label, else the method (and variant unless default). */
export function methodLabel(name: string, variant: string, L: string): string {
  const label = byName.get(name)?.label;
  if (label !== undefined) return label(variant, L);
  return variant === 'default' ? name : `${name} / ${variant}`;
}

/** True for a reference score of the table (floor, oracle); false for trained methods and names the table does not know. */
export function isReferenceMethod(name: string): boolean {
  return byName.get(name)?.reference !== undefined;
}

/** Methods the latency study can time (their entry has an online scorer). */
export function latencyMethods(): MethodName[] {
  return METHOD_TABLE.filter((e) => e.latency !== undefined).map((e) => e.name);
}
