import { VqlContextError } from './errors.js';

/**
 * A static context column (docs/architecture.md). Categorical ids are dense 1..vocabSize with 0 =
 * missing / padding; multi-valued features have a fixed `width` with 0 padding and are
 * mean-pooled; numeric features are bucketised by ascending `boundaries`.
 * `scope: 'item'` features exist for the target and every behaviour; `scope: 'event'` only for
 * behaviours. Nothing pairwise between target and behaviour: it would break the per-user cache.
 */
export type ContextFeatureSpec =
  | { name: string; kind: 'categorical'; scope: 'item' | 'event'; vocabSize: number }
  | { name: string; kind: 'multi'; scope: 'item' | 'event'; vocabSize: number; width: number }
  | { name: string; kind: 'numeric'; scope: 'item' | 'event'; boundaries: number[] };

export type ContextScope = ContextFeatureSpec['scope'];

/** One context column per feature name, `[N*width]` (width 1 for categorical and numeric). */
export type ContextColumns = Record<string, ArrayLike<number>>;

/** Columns of an embedding table: rows 0 (missing), 1..vocabSize (ids) and vocabSize+1 (OOV). */
export function tableRows(spec: ContextFeatureSpec): number {
  return spec.kind === 'numeric' ? spec.boundaries.length + 2 : spec.vocabSize + 2;
}

export function featureWidth(spec: ContextFeatureSpec): number {
  return spec.kind === 'multi' ? spec.width : 1;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
const PAIRWISE_KEYS = ['pairwise', 'pair', 'cross', 'crossWithTarget', 'targetAware'];

function pairwiseError(where: string, name: string, what: string): VqlContextError {
  return new VqlContextError(
    'PAIRWISE_FEATURE',
    `${where}: feature "${name}" is declared pairwise (${what}). Features that depend on both the target and a ` +
      'behaviour would make every cached key/value depend on the query and break the per-user cache; ' +
      "only time may be pairwise (through the separable temporal kernel). Use scope 'item' or 'event'.",
  );
}

function checkPositiveInt(where: string, field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new VqlContextError('INVALID_FEATURE_SPEC', `${where}: ${field} must be a positive integer, got ${String(value)}.`);
  }
}

/** Validates specs at the public boundary; returns deep copies so later edits cannot change the encoder. */
export function validateFeatureSpecs(where: string, specs: unknown): ContextFeatureSpec[] {
  if (!Array.isArray(specs)) {
    throw new VqlContextError('INVALID_FEATURE_SPEC', `${where}: features must be an array of ContextFeatureSpec.`);
  }
  const seen = new Set<string>();
  return specs.map((raw: unknown, i) => {
    const at = `${where}: features[${i}]`;
    if (raw == null || typeof raw !== 'object') {
      throw new VqlContextError('INVALID_FEATURE_SPEC', `${at} must be an object.`);
    }
    const spec = raw as Record<string, unknown>;
    const name = spec['name'];
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new VqlContextError('INVALID_FEATURE_SPEC', `${at}.name must be a non-empty string of [A-Za-z0-9_.-], got ${JSON.stringify(name)}.`);
    }
    if (seen.has(name)) throw new VqlContextError('DUPLICATE_FEATURE', `${at}: feature name "${name}" appears twice.`);
    seen.add(name);
    const scope = spec['scope'];
    for (const key of PAIRWISE_KEYS) {
      if (spec[key] !== undefined && spec[key] !== false) throw pairwiseError(at, name, `${key}: ${JSON.stringify(spec[key])}`);
    }
    if (scope !== 'item' && scope !== 'event') {
      if (typeof scope === 'string' && /pair|cross|target/i.test(scope)) throw pairwiseError(at, name, `scope: '${scope}'`);
      throw new VqlContextError('INVALID_FEATURE_SPEC', `${at} ("${name}").scope must be 'item' or 'event', got ${JSON.stringify(scope)}.`);
    }
    switch (spec['kind']) {
      case 'categorical':
        checkPositiveInt(`${at} ("${name}")`, 'vocabSize', spec['vocabSize']);
        return { name, kind: 'categorical', scope, vocabSize: spec['vocabSize'] as number };
      case 'multi':
        checkPositiveInt(`${at} ("${name}")`, 'vocabSize', spec['vocabSize']);
        checkPositiveInt(`${at} ("${name}")`, 'width', spec['width']);
        return { name, kind: 'multi', scope, vocabSize: spec['vocabSize'] as number, width: spec['width'] as number };
      case 'numeric': {
        const b = spec['boundaries'];
        if (!Array.isArray(b) || b.length === 0) {
          throw new VqlContextError('INVALID_FEATURE_SPEC', `${at} ("${name}").boundaries must be a non-empty array of numbers.`);
        }
        b.forEach((x: unknown, j) => {
          if (typeof x !== 'number' || !Number.isFinite(x) || (j > 0 && x <= (b[j - 1] as number))) {
            throw new VqlContextError(
              'INVALID_FEATURE_SPEC',
              `${at} ("${name}").boundaries[${j}] = ${String(x)}: boundaries must be finite and strictly increasing.`,
            );
          }
        });
        return { name, kind: 'numeric', scope, boundaries: [...(b as number[])] };
      }
      default:
        throw new VqlContextError(
          'INVALID_FEATURE_SPEC',
          `${at} ("${name}").kind must be 'categorical', 'multi' or 'numeric', got ${JSON.stringify(spec['kind'])}.`,
        );
    }
  });
}
