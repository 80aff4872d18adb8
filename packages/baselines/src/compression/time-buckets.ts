/** Log-spaced recency buckets for the optional time input of the compression baselines. */
export const TIME_BUCKETS = 24;

/** floor(log2(1 + dt / 60 s)), capped: bucket 0 = the last minute, 23 ≈ 16 years and older. */
export function timeBucket(dtSeconds: number): number {
  if (!(dtSeconds > 0)) return 0;
  return Math.min(TIME_BUCKETS - 1, Math.floor(Math.log2(1 + dtSeconds / 60)));
}
