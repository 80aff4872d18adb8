import { tf } from '../tf.js';
import { createRng } from '../rng.js';

export interface TinyModelOptions {
  seed?: number;
  steps?: number;
  vocab?: number;
  dim?: number;
  batch?: number;
}

/**
 * Trains a tiny embedding-table + MLP click model with Adam on seeded synthetic data and returns
 * the loss after every step. The embedding lookup is a `gather`, so its gradient needs the
 * UnsortedSegmentSum kernel: the workload that proves a backend can train vql models.
 */
export function tinyModelLossCurve(options: TinyModelOptions = {}): number[] {
  const { seed = 7, steps = 30, vocab = 50, dim = 8, batch = 64 } = options;
  const rng = createRng(seed);
  const init = (n: number, scale: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
    return out;
  };
  // Ground truth: an item clicks when its hidden score is positive.
  const truth = init(vocab, 1);
  const embedding = tf.variable(tf.tensor2d(init(vocab * dim, 0.1), [vocab, dim]));
  const w1 = tf.variable(tf.tensor2d(init(dim * 16, 0.3), [dim, 16]));
  const b1 = tf.variable(tf.zeros([16]));
  const w2 = tf.variable(tf.tensor2d(init(16, 0.3), [16, 1]));
  const optimizer = tf.train.adam(0.05);
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const ids = new Int32Array(batch);
      const labels = new Float32Array(batch);
      for (let i = 0; i < batch; i++) {
        ids[i] = rng.int(vocab);
        labels[i] = truth[ids[i]!]! > 0 ? 1 : 0;
      }
      const loss = tf.tidy(() => {
        const idT = tf.tensor1d(ids, 'int32');
        const y = tf.tensor2d(labels, [batch, 1]);
        return optimizer.minimize(() => {
          const e = tf.gather(embedding, idT);
          const h = tf.relu(tf.add(tf.matMul(e, w1), b1));
          const logits = tf.matMul(h, w2);
          return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
        }, true)!;
      });
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
    tf.dispose([embedding, w1, b1, w2]);
  }
  return losses;
}
