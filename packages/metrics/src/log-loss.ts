import { VqlMetricsError } from './errors.js';
import { checkFinite, checkLabels, checkSameLength } from './validate.js';
import type { NumericArray } from './validate.js';

/** Mean binary cross-entropy; probabilities are clipped to [eps, 1 − eps]. */
export function logLoss(labels: NumericArray, probs: NumericArray, eps = 1e-7): number {
  const n = checkSameLength('logLoss', { labels, probs });
  checkLabels('logLoss', labels);
  checkFinite('logLoss', 'probs', probs);
  if (!(eps > 0 && eps < 0.5)) throw new VqlMetricsError('INVALID_ARGUMENT', `logLoss: eps must be in (0, 0.5), got ${eps}.`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    if (p < 0 || p > 1) {
      throw new VqlMetricsError('INVALID_PROBABILITY', `logLoss: probs[${i}] is ${p}; probabilities must be in [0, 1].`);
    }
    const c = Math.min(Math.max(p, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(c) : Math.log(1 - c);
  }
  return sum / n;
}
