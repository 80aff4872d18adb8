import { tf } from './tf.js';
import { initBackend } from './backend.js';
import { tinyModelLossCurve } from './testing/tiny-model.js';

describe('initBackend', () => {
  const saved = process.env['VQL_BACKEND'];
  afterEach(() => {
    if (saved === undefined) delete process.env['VQL_BACKEND'];
    else process.env['VQL_BACKEND'] = saved;
  });

  it('defaults to wasm and bridges the kernels wasm lacks', async () => {
    delete process.env['VQL_BACKEND'];
    const info = await initBackend();
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.bridgedKernels).toEqual(expect.arrayContaining(['Einsum']));
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('lets VQL_BACKEND override the option', async () => {
    process.env['VQL_BACKEND'] = 'cpu';
    expect((await initBackend({ backend: 'wasm' })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown backend, naming where the name came from', async () => {
    delete process.env['VQL_BACKEND'];
    await expect(initBackend({ backend: 'webgl' as 'cpu' })).rejects.toThrow(/Unknown backend "webgl" in options.backend/);
    process.env['VQL_BACKEND'] = 'gpu';
    await expect(initBackend()).rejects.toThrow(/"gpu" in environment variable VQL_BACKEND/);
  });

  it('prints nothing unless asked', async () => {
    delete process.env['VQL_BACKEND'];
    const spies = [jest.spyOn(console, 'log'), jest.spyOn(console, 'warn'), jest.spyOn(console, 'info')];
    await initBackend({ backend: 'cpu' });
    tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync());
    await initBackend({ backend: 'wasm' });
    for (const spy of spies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });
});

describe('wasm kernels bridged to cpu', () => {
  beforeAll(async () => {
    delete process.env['VQL_BACKEND'];
    await initBackend({ backend: 'wasm' });
  });

  it('unsortedSegmentSum matches hand-computed sums on both backends (ids out of range dropped)', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend({ backend });
      const out = tf.tidy(() =>
        tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]), tf.tensor1d([2, 0, 2, 5], 'int32'), 3).arraySync(),
      );
      expect(out).toEqual([[3, 4], [0, 0], [6, 8]]);
      const ints = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2).arraySync());
      expect(ints).toEqual([3, 3]);
    }
    await initBackend({ backend: 'wasm' });
  });

  it('unsortedSegmentSum handles a 50k-row embedding gradient (the stock cpu kernel would take minutes)', () => {
    const sum = tf.tidy(() => {
      const ids = tf.tensor1d(Int32Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 50_000), 'int32');
      return tf.unsortedSegmentSum(tf.ones([20_000, 32]), ids, 50_000).sum().dataSync()[0];
    });
    expect(sum).toBe(20_000 * 32);
  });

  it('einsum runs on wasm', () => {
    const out = tf.tidy(() => tf.einsum('ij,jk->ik', tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).arraySync());
    expect(out).toEqual([[11]]);
  });

  it('gather on an embedding table has a gradient (summed over repeated ids)', () => {
    const grad = tf.tidy(() => {
      const table = tf.tensor2d([[1, 1], [2, 2], [3, 3]]);
      const ids = tf.tensor1d([0, 2, 0], 'int32');
      return tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table).arraySync();
    });
    expect(grad).toEqual([[2, 2], [0, 0], [1, 1]]);
  });

  it('does not leak the intermediate cpu tensors', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => tf.unsortedSegmentSum(tf.ones([4, 3]), tf.tensor1d([0, 1, 0, 1], 'int32'), 2).dataSync());
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training a tiny embedding + MLP model', () => {
  it('gives the same loss curve on wasm and cpu (to 1e-4), and the loss falls', async () => {
    delete process.env['VQL_BACKEND'];
    await initBackend({ backend: 'cpu' });
    const cpu = tinyModelLossCurve({ seed: 3, steps: 40 });
    await initBackend({ backend: 'wasm' });
    const wasm = tinyModelLossCurve({ seed: 3, steps: 40 });
    expect(wasm).toHaveLength(40);
    for (let i = 0; i < cpu.length; i++) expect(Math.abs(wasm[i]! - cpu[i]!)).toBeLessThan(1e-4);
    const head = cpu.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = cpu.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(head * 0.7);
  });
});
