import { tf } from './tf.js';
import { initBackend } from './backend.js';
import { straightThrough, stopGradient } from './straight-through.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('straightThrough', () => {
  it('returns q forward and passes the gradient to x only', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const q = tf.tensor1d([1.5, 1.5, 3.5]);
    const w = tf.tensor1d([1, 10, 100]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(straightThrough(a, b), w));
    expect(Array.from(straightThrough(x, q).dataSync())).toEqual([1.5, 1.5, 3.5]);
    const [gx, gq] = tf.grads(f)([x, q]);
    expect(Array.from(gx!.dataSync())).toEqual([1, 10, 100]);
    expect(Array.from(gq!.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([x, q, w, gx!, gq!]);
  });

  it('rejects shape mismatches', () => {
    expect(() => straightThrough(tf.zeros([2]), tf.zeros([3]))).toThrow(/x has shape \[2\] but q has \[3\]/);
  });
});

describe('stopGradient', () => {
  it('is identity forward with zero gradient', () => {
    const x = tf.tensor1d([2, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.add(tf.mul(a, a), stopGradient(tf.mul(a, a)))))(x);
    expect(Array.from(g.dataSync())).toEqual([4, 6]);
    tf.dispose([x, g]);
  });
});
