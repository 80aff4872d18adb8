import { tf } from '../tf.js';
import { initBackend } from '../backend.js';
import { assertNoTensorLeak } from './tensor-leak.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('assertNoTensorLeak', () => {
  it('passes a tidy step', async () => {
    await expect(assertNoTensorLeak(() => tf.tidy(() => tf.add(tf.ones([3]), 1).dataSync()))).resolves.toBeUndefined();
  });

  it('fails a step that keeps a tensor alive', async () => {
    const kept: tf.Tensor[] = [];
    await expect(assertNoTensorLeak(() => kept.push(tf.ones([3])), { label: 'train step' })).rejects.toThrow(
      /train step leaks tensors: \d+ live before 5 repeats/,
    );
    tf.dispose(kept);
  });
});
