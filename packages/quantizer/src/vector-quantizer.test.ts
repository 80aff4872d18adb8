import { tf, initBackend } from '@vql/runtime';
import { VectorQuantizer } from './vector-quantizer.js';

beforeAll(async () => {
  await initBackend();
});

describe('VectorQuantizer', () => {
  it('quantizes [N,d] keys with the grouped semantics and names weights codebook/*', () => {
    const vq = new VectorQuantizer({ dim: 2, size: 3, init: 'random', seed: 1 });
    const w = tf.tensor2d([[0, 0], [10, 0], [0, 10]]);
    vq.setWeights({ 'codebook/codes': w });
    const keys = tf.tensor2d([[1, 1], [9, -1], [-1, 12], [0.2, 0]]);
    const out = vq.quantize(keys);
    expect(out.quantized.shape).toEqual([4, 2]);
    expect(Array.from(out.codes.dataSync())).toEqual([0, 1, 2, 0]);
    expect(Array.from(out.quantized.dataSync())).toEqual([0, 0, 10, 0, 0, 10, 0, 0]);
    expect(Array.from(vq.assign(Float32Array.from(keys.dataSync())))).toEqual([0, 1, 2, 0]);
    const sse = 2 + 2 + 5 + 0.04;
    expect(out.commitmentLoss.dataSync()[0]).toBeCloseTo(sse / 8, 5);
    expect(Object.keys(vq.getWeights())).toEqual(['codebook/codes']);
    expect(() => vq.quantize(tf.zeros([3, 5]) as tf.Tensor2D)).toThrow(/keys must have shape \[N, 2\], got \[3, 5\]/);
    expect(() => new VectorQuantizer({ dim: 2, size: 0, seed: 1 })).toThrow(/size \(K\) must be an integer >= 1/);
    tf.dispose([w, keys, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    vq.dispose();
  });
});
