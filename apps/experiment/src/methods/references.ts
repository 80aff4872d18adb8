import { ExperimentRunError } from '../errors.js';
import { fitCategoryMixFloor } from '../floor.js';
import type { MethodContext, ReferenceScore } from './method-entry.js';

/**
 * The oracle: the generator's true click probability (full-history variant, the ceiling) or the
 * true model restricted to the newest L behaviours (at-L, the ceiling of a method that sees L).
 */
export function oracleScore({ spec, data }: MethodContext): ReferenceScore {
  if (data.oracle === undefined) throw new ExperimentRunError('NO_ORACLE', `oracle: dataset ${data.name} has no true click probabilities (only the synthetic generator knows them)`);
  const full = spec.variant === 'full-history';
  const probs = full ? data.test.trueProb! : data.oracle.probabilities(data.test, spec.L);
  return {
    probs,
    values: {
      historyPolicy: full ? 'whole-history' : 'newest-L',
      note: full ? 'true click probability of the generator (ceiling)' : `the true model restricted to the newest ${spec.L} behaviours (ceiling at this L)`,
    },
  };
}

/**
 * The floor: a logistic model on the target category × the category mix of the newest L
 * (floor.ts), or of every earlier behaviour (variant whole-history: the floor for whole-history VQL).
 */
export function floorScore({ spec, data }: MethodContext): ReferenceScore {
  if (data.categoryFeature === null || !data.schema.context.some((f) => f.name === data.categoryFeature && f.kind === 'categorical')) {
    return { probs: null, values: { note: `no categorical item feature on ${data.name}: the floor needs one` } };
  }
  const started = performance.now();
  const whole = spec.variant === 'whole-history';
  const floor = fitCategoryMixFloor(data.train, { categoryFeature: data.categoryFeature, L: whole ? Number.MAX_SAFE_INTEGER : spec.L });
  const trainSeconds = (performance.now() - started) / 1000;
  return {
    probs: floor.predict(data.test),
    values: {
      trainSeconds,
      historyPolicy: whole ? 'whole-history' : 'newest-L',
      note: `logistic on target category × category mix of ${whole ? 'the whole history' : 'the newest L'} (${floor.parameters} parameters)`,
    },
  };
}
