// Test helper (not exported): checks that a module's gradients reach its variables and the embeddings.
import { createRng, tf, type Tensor } from '@vql/runtime';
import type { CtrBatch } from '@vql/data';
import type { InterestModule } from '@vql/model';
import { inputsFor } from './fixtures.js';

/** Gradient of Σ interest ⊙ c (+ auxLoss) w.r.t. the module's variables and the embedding table. */
export function gradNorms(module: InterestModule, batch: CtrBatch, table: Float32Array, numItems: number, d: number): { module: number[]; table: number } {
  let result = { module: [] as number[], table: 0 };
  tf.tidy(() => {
    const t = tf.variable(tf.tensor2d(table, [numItems + 1, d]), true);
    const rng = createRng(3);
    const c = tf.tensor2d(Float32Array.from({ length: batch.size * module.outputDim }, () => rng.normal()), [batch.size, module.outputDim]);
    const vars = [...module.trainableVariables(), t];
    const { grads } = tf.variableGrads(() => {
      const out = module.forward(inputsFor(batch, t, numItems, true));
      let loss: Tensor = tf.sum(tf.mul(out.interest, c));
      if (out.auxLoss !== undefined) loss = tf.add(loss, out.auxLoss);
      return loss as tf.Scalar;
    }, vars);
    const norm = (g: Tensor | undefined): number => (g === undefined ? 0 : Math.sqrt(tf.sum(tf.square(g)).dataSync()[0]!));
    result = { module: module.trainableVariables().map((v) => norm(grads[v.name])), table: norm(grads[t.name]) };
    t.dispose();
  });
  return result;
}
