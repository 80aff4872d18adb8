import { initBackend } from './backend.js';
import { gatherRows } from './gather-rows.js';
import { tf } from './tf.js';

beforeAll(async () => {
  await initBackend();
});

describe('gatherRows', () => {
  it('matches tf.gather forward and its gradient, repeated indices included', () => {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const idx = Int32Array.of(3, 0, 3, 2, 3);
    const weights = tf.tensor2d([1, -1, 2, 0.5, 3, 1, -2, 4, 0.25, 1], [5, 2]);
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t, idx), weights)))(table);
    const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, 'int32')), weights)))(table);
    expect(Array.from(gatherRows(table, idx).dataSync())).toEqual(Array.from(tf.gather(table, tf.tensor1d(idx, 'int32')).dataSync()));
    expect(Array.from(ours.dataSync())).toEqual(Array.from(ref.dataSync()));
    // Row 1 is never gathered: its gradient is exactly zero.
    expect(Array.from(ours.dataSync().slice(2, 4))).toEqual([0, 0]);
  });

  it('names the offending index', () => {
    const table = tf.zeros([3, 2]);
    expect(() => gatherRows(table, Int32Array.of(0, 3))).toThrow(/indices\[1\] = 3 is outside the table's 3 rows/);
  });
});
