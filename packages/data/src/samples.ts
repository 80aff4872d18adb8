import { createRng } from '@vql/runtime';
import { VqlDataError, checkOptionKeys } from './errors.js';
import type { EventTable } from './types.js';

/**
 * A compact set of CTR samples over an event table. A sample is (user, endOffset, target):
 * its history is the table rows [userOffsets[user], endOffset), so no history is ever copied.
 */
export interface CtrSampleSet {
  table: EventTable;
  size: number;
  user: Int32Array;
  /** Exclusive end (global row index) of the history: every row before it has time < targetTime. */
  endOffset: Int32Array;
  targetItem: Int32Array;
  targetTime: Float64Array;
  label: Float32Array;
  /** Synthetic data only: the oracle click probability. */
  trueProb?: Float32Array;
}

export interface CtrSplits {
  train: CtrSampleSet;
  valid: CtrSampleSet;
  test: CtrSampleSet;
}

export interface BuildCtrSamplesOptions {
  /** Per-user time split fractions; default [0.8, 0.1, 0.1]. */
  split?: readonly [number, number, number];
  /** Sampled negatives per positive; default 1 without explicit labels, 0 with them. */
  negativesPerPositive?: number;
  /** 'uniform' over items or 'popularity' (by event count); default 'uniform'. */
  negativeSampling?: 'uniform' | 'popularity';
  /** Targets need at least this many history events; default 1. */
  minHistory?: number;
  seed?: number | string;
}

class SampleWriter {
  user: number[] = [];
  end: number[] = [];
  item: number[] = [];
  time: number[] = [];
  label: number[] = [];

  push(user: number, end: number, item: number, time: number, label: number): void {
    this.user.push(user);
    this.end.push(end);
    this.item.push(item);
    this.time.push(time);
    this.label.push(label);
  }

  finish(table: EventTable): CtrSampleSet {
    return {
      table,
      size: this.user.length,
      user: Int32Array.from(this.user),
      endOffset: Int32Array.from(this.end),
      targetItem: Int32Array.from(this.item),
      targetTime: Float64Array.from(this.time),
      label: Float32Array.from(this.label),
    };
  }
}

export function checkSplit(split: readonly number[], where: string): void {
  if (split.length !== 3 || split.some((s) => !Number.isFinite(s) || s < 0) || Math.abs(split[0]! + split[1]! + split[2]! - 1) > 1e-9) {
    throw new VqlDataError('INVALID_ARGUMENT', `${where}: split must be three non-negative fractions summing to 1, got [${split.join(', ')}].`);
  }
}

/** Index boundaries of a per-user time split of n ordered items: [0,a) train, [a,b) valid, [b,n) test. */
export function splitPoints(n: number, split: readonly [number, number, number]): [number, number] {
  return [Math.floor(n * split[0]), Math.floor(n * (split[0] + split[1]))];
}

/**
 * The CTR protocol of DESIGN §4: every event of a user is a target whose history is every event
 * strictly earlier in time (ties excluded); the user's events are split by time 80/10/10.
 * Explicit labels are kept; without them every event is a positive and negatives are sampled
 * (seeded) from the item pool, excluding the target item and every item the user touched
 * *before* it. Items the user touches later stay eligible: excluding them would leak the
 * future (a later positive could never appear as an earlier negative), and would make "the
 * target already is in the history" a shortcut to the label.
 */
export function buildCtrSamples(table: EventTable, options: BuildCtrSamplesOptions = {}): CtrSplits {
  checkOptionKeys(options, ['split', 'negativesPerPositive', 'negativeSampling', 'minHistory', 'seed'], 'buildCtrSamples');
  const split = options.split ?? [0.8, 0.1, 0.1];
  checkSplit(split, 'buildCtrSamples');
  const explicit = table.schema.hasExplicitLabels;
  const negatives = options.negativesPerPositive ?? (explicit ? 0 : 1);
  if (!Number.isInteger(negatives) || negatives < 0) {
    throw new VqlDataError('INVALID_ARGUMENT', `buildCtrSamples: negativesPerPositive must be an integer >= 0, got ${negatives}.`);
  }
  const minHistory = options.minHistory ?? 1;
  if (!Number.isInteger(minHistory) || minHistory < 0) {
    throw new VqlDataError('INVALID_ARGUMENT', `buildCtrSamples: minHistory must be an integer >= 0, got ${minHistory}.`);
  }
  const sampling = options.negativeSampling ?? 'uniform';
  if (sampling !== 'uniform' && sampling !== 'popularity') {
    throw new VqlDataError('INVALID_ARGUMENT', `buildCtrSamples: negativeSampling must be 'uniform' or 'popularity', got ${String(sampling)}.`);
  }
  const { numUsers, numItems } = table.schema;
  if (negatives > 0 && numItems < 2) {
    throw new VqlDataError('INVALID_ARGUMENT', 'buildCtrSamples: negative sampling needs at least 2 items.');
  }
  const rng = createRng(options.seed ?? 0);
  // Popularity sampling draws a random event's item: proportional to counts, no table needed.
  const drawItem = sampling === 'uniform' ? () => 1 + rng.int(numItems) : () => table.item[rng.int(table.numEvents)]!;

  const out = [new SampleWriter(), new SampleWriter(), new SampleWriter()];
  const { userOffsets, item, time, label } = table;
  for (let u = 1; u <= numUsers; u++) {
    const lo = userOffsets[u]!;
    const hi = userOffsets[u + 1]!;
    const n = hi - lo;
    const [a, b] = splitPoints(n, split);
    // Items touched before the current event (grown as the scan advances).
    const seen = new Set<number>();
    let tieStart = lo;
    for (let i = lo; i < hi; i++) {
      if (i > lo) seen.add(item[i - 1]!);
      if (i > lo && time[i] !== time[i - 1]) tieStart = i;
      const end = tieStart; // events at the same instant are not "before" the target
      if (end - lo < minHistory) continue;
      const k = i - lo;
      const w = out[k < a ? 0 : k < b ? 1 : 2]!;
      w.push(u, end, item[i]!, time[i]!, explicit ? label[i]! : 1);
      for (let j = 0; j < negatives; j++) {
        // Bounded retries: a user who touched nearly every item still gets a negative.
        let candidate = drawItem();
        for (let tries = 0; tries < 50 && (candidate === item[i] || seen.has(candidate)); tries++) candidate = drawItem();
        w.push(u, end, candidate, time[i]!, 0);
      }
    }
  }
  return { train: out[0]!.finish(table), valid: out[1]!.finish(table), test: out[2]!.finish(table) };
}
