import { createRng, initBackend, tf } from '@vql/runtime';
import { fusedTargetAttention, targetAttention } from './fused-attention.js';

beforeAll(async () => {
  await initBackend();
});

/** The same attention written with stock tfjs ops (gather per position, batched matmuls). */
function reference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, e: tf.Tensor, inv: Int32Array, has: Float32Array, B: number, L: number, H: number, G: number, dh: number): tf.Tensor {
  const idx = tf.tensor1d(inv, 'int32');
  const kp = tf.transpose(tf.reshape(tf.gather(k, idx), [B, L, G, dh]), [0, 2, 1, 3]); // [B, G, L, dh]
  const vp = tf.transpose(tf.reshape(tf.gather(v, idx), [B, L, H, dh]), [0, 2, 1, 3]); // [B, H, L, dh]
  const s = tf.reshape(tf.matMul(tf.reshape(q, [B, G, H / G, dh]), kp, false, true), [B, H, L]);
  const a = tf.softmax(tf.add(tf.mul(s, 1 / Math.sqrt(dh)), tf.expandDims(e, 1)));
  const out = tf.reshape(tf.matMul(tf.reshape(a, [B, H, 1, L]), vp), [B, H * dh]);
  return tf.mul(out, tf.tensor2d(has, [B, 1]));
}

describe('fusedTargetAttention', () => {
  it('matches stock tfjs ops in value and in the gradient of every input (masked positions, empty rows)', () => {
    const [B, L, H, G, dh, U] = [4, 7, 4, 2, 3, 6];
    const rng = createRng(3);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const inv = Int32Array.from({ length: B * L }, () => rng.int(U));
    const mask = Float32Array.from({ length: B * L }, (_, i) => (Math.floor(i / L) === 2 ? 0 : i % L < 5 ? 1 : 0));
    const has = Float32Array.from({ length: B }, (_, b) => (b === 2 ? 0 : 1));
    const extraHost = rand(B * L).map((x, i) => x + (mask[i]! - 1) * 1e9);
    const q = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const k = tf.tensor2d(rand(U * G * dh), [U, G * dh]);
    const v = tf.tensor2d(rand(U * H * dh), [U, H * dh]);
    const e = tf.tensor2d(extraHost, [B, L]);
    const w = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const shape = { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh };
    const f = (...xs: tf.Tensor[]) => tf.sum(tf.mul(fusedTargetAttention(xs[0]!, xs[1]!, xs[2]!, xs[3]!, inv, has, shape, 1 / Math.sqrt(dh)), w));
    const r = (...xs: tf.Tensor[]) => tf.sum(tf.mul(reference(xs[0]!, xs[1]!, xs[2]!, xs[3]!, inv, has, B, L, H, G, dh), w));
    expect(f(q, k, v, e).dataSync()[0]).toBeCloseTo(r(q, k, v, e).dataSync()[0]!, 4);
    const gf = tf.grads(f)([q, k, v, e]);
    const gr = tf.grads(r)([q, k, v, e]);
    gf.forEach((g, i) => {
      const a = g.dataSync();
      const b = gr[i]!.dataSync();
      expect(a.length).toBe(b.length);
      for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j]!, 4);
    });
    // The empty row's output is exactly zero.
    expect(Array.from(fusedTargetAttention(q, k, v, e, inv, has, shape, 1).dataSync().slice(2 * H * dh, 3 * H * dh))).toEqual(new Array(H * dh).fill(0));
  });

  it.each([
    ['per position', false],
    ['grouped per code', true],
  ])('%s with a host mask and no extra matches stock tfjs ops in value and gradients', (_name, grouped) => {
    const [B, L, H, G, dh, U, K] = [5, 9, 4, 2, 3, 8, 3];
    const rng = createRng(7);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const inv = Int32Array.from({ length: B * L }, () => 1 + rng.int(U - 1));
    // Row 1 has one real position, row 3 none (hasHistory 0), row 4 ends with padding.
    const mask = Float32Array.from({ length: B * L }, (_, i) => {
      const b = Math.floor(i / L);
      const l = i % L;
      return b === 3 ? 0 : b === 1 ? (l === 4 ? 1 : 0) : b === 4 ? (l < 6 ? 1 : 0) : 1;
    });
    for (let i = 0; i < inv.length; i++) if (mask[i] === 0) inv[i] = 0;
    const has = Float32Array.from({ length: B }, (_, b) => (b === 3 ? 0 : 1));
    // Grouped: rows sharing a code share their key (the code), as quantized keys do.
    const codes = Int32Array.from({ length: U * G }, () => rng.int(K));
    const book = rand(G * K * dh);
    const keys = grouped ? Float32Array.from({ length: U * G * dh }, (_, i) => {
      const u = Math.floor(i / (G * dh));
      const g = Math.floor(i / dh) % G;
      return book[(g * K + codes[u * G + g]!) * dh + (i % dh)]!;
    }) : rand(U * G * dh);
    const q = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const k = tf.tensor2d(keys, [U, G * dh]);
    const v = tf.tensor2d(rand(U * H * dh), [U, H * dh]);
    const e = tf.tensor2d(rand(B * L), [B, L]);
    const w = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const shape = { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh };
    const scale = 1 / Math.sqrt(dh);
    const options = { inverse: inv, hasHistory: has, mask, codes: grouped ? codes : null, shape, scale };
    const penalty = tf.tensor2d(mask.map((m) => (m - 1) * 1e9), [B, L]);
    const f = (...xs: tf.Tensor[]) => tf.sum(tf.mul(targetAttention(xs[0]!, xs[1]!, xs[2]!, xs[3]!, options), w));
    const r = (...xs: tf.Tensor[]) => tf.sum(tf.mul(reference(xs[0]!, xs[1]!, xs[2]!, tf.add(xs[3]!, penalty), inv, has, B, L, H, G, dh), w));
    tf.tidy(() => {
      expect(f(q, k, v, e).dataSync()[0]).toBeCloseTo(r(q, k, v, e).dataSync()[0]!, 4);
      const gf = tf.grads(f)([q, k, v, e]);
      const gr = tf.grads(r)([q, k, v, e]);
      gf.forEach((g, i) => {
        const a = g.dataSync();
        const b = gr[i]!.dataSync();
        expect(a.length).toBe(b.length);
        for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j]!, 4);
      });
      // Without an extra term the op takes three inputs and matches extra = 0.
      const noExtra = targetAttention(q, k, v, null, options).dataSync();
      const zeroExtra = targetAttention(q, k, v, tf.zerosLike(e), options).dataSync();
      for (let i = 0; i < noExtra.length; i++) expect(noExtra[i]).toBeCloseTo(zeroExtra[i]!, 6);
      expect(Array.from(noExtra.slice(3 * H * dh, 4 * H * dh))).toEqual(new Array(H * dh).fill(0));
    });
    tf.dispose([q, k, v, e, w, penalty]);
  });
  it.each([
    ['per position', false],
    ['grouped per code', true],
  ])('%s: the folded context bias and decay-mixture kernel equal the same terms as an extra tensor, in value and every gradient', (_name, grouped) => {
    const [B, L, H, G, dh, U, K] = [4, 6, 4, 2, 3, 7, 3];
    const rng = createRng(11);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const inv = Int32Array.from({ length: B * L }, () => 1 + rng.int(U - 1));
    const mask = Float32Array.from({ length: B * L }, (_, i) => (Math.floor(i / L) === 1 ? 0 : i % L < 4 ? 1 : 0));
    for (let i = 0; i < inv.length; i++) if (mask[i] === 0) inv[i] = 0;
    const has = Float32Array.from({ length: B }, (_, b) => (b === 1 ? 0 : 1));
    // Ages from minutes to a year, so every rate dominates somewhere.
    const dt = Float64Array.from({ length: B * L }, (_, i) => (mask[i] === 0 ? 0 : Math.fround(Math.exp(rng.next() * 17))));
    const codes = Int32Array.from({ length: U * G }, () => rng.int(K));
    const book = rand(G * K * dh);
    const keys = grouped
      ? Float32Array.from({ length: U * G * dh }, (_, i) => book[(Math.floor(i / dh) % G) * K * dh + codes[Math.floor(i / (G * dh)) * G + (Math.floor(i / dh) % G)]! * dh + (i % dh)]!)
      : rand(U * G * dh);
    const q = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const k = tf.tensor2d(keys, [U, G * dh]);
    const v = tf.tensor2d(rand(U * H * dh), [U, H * dh]);
    const bias = tf.tensor1d(rand(U));
    const logRate = tf.tensor1d([Math.log(1 / 3600), Math.log(1 / 86400), Math.log(1 / 3e7)]);
    const logBeta = tf.tensor1d([-0.5, 0.2, -1]);
    const w = tf.tensor2d(rand(B * H * dh), [B, H * dh]);
    const shape = { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh };
    const options = { inverse: inv, hasHistory: has, mask, codes: grouped ? codes : null, shape, scale: 1 / Math.sqrt(dh) };
    const dtTensor = tf.tensor2d(Float32Array.from(dt), [B, L]);
    const idx = tf.tensor1d(inv, 'int32');
    const folded = (...xs: tf.Tensor[]) =>
      tf.sum(tf.mul(targetAttention(xs[0]!, xs[1]!, xs[2]!, { bias: xs[3]!, decay: { logRate: xs[4]!, logBeta: xs[5]!, unit: 1, dt } }, options), w));
    const composed = (...xs: tf.Tensor[]) => {
      // log κ = logSumExp_r(logBeta_r − e^{logRate_r}·dt) and the bias gathered per position, in stock ops.
      const logKernel = tf.logSumExp(tf.sub(xs[5]!, tf.mul(tf.expandDims(dtTensor, -1), tf.exp(xs[4]!))), -1);
      const extra = tf.add(logKernel, tf.reshape(tf.gather(xs[3]!, idx), [B, L]));
      return tf.sum(tf.mul(targetAttention(xs[0]!, xs[1]!, xs[2]!, extra, options), w));
    };
    tf.tidy(() => {
      const inputs = [q, k, v, bias, logRate, logBeta];
      expect(folded(...inputs).dataSync()[0]).toBeCloseTo(composed(...inputs).dataSync()[0]!, 4);
      const gf = tf.grads(folded)(inputs);
      const gc = tf.grads(composed)(inputs);
      gf.forEach((g, i) => {
        const a = g.dataSync();
        const b = gc[i]!.dataSync();
        expect(a.length).toBe(b.length);
        for (let j = 0; j < a.length; j++) expect(Math.abs(a[j]! - b[j]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(b[j]!)));
      });
      // The bias of rows no counted position reads gets no gradient.
      expect(gf[3]!.dataSync()[0]).toBe(0);
    });
    tf.dispose([q, k, v, bias, logRate, logBeta, w, dtTensor, idx]);
  });

  it('values may be wider than keys (valueDim): matches stock tfjs ops in value and every gradient', () => {
    const [B, L, H, dh, dv, U] = [3, 5, 2, 3, 5, 6];
    const rng = createRng(13);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const inv = Int32Array.from({ length: B * L }, () => 1 + rng.int(U - 1));
    const mask = Float32Array.from({ length: B * L }, (_, i) => (i % L < 4 ? 1 : 0));
    for (let i = 0; i < inv.length; i++) if (mask[i] === 0) inv[i] = 0;
    const has = new Float32Array(B).fill(1);
    const [q, k, v, e] = [tf.tensor2d(rand(B * H * dh), [B, H * dh]), tf.tensor2d(rand(U * H * dh), [U, H * dh]), tf.tensor2d(rand(U * H * dv), [U, H * dv]), tf.tensor2d(rand(B * L), [B, L])];
    const w = tf.tensor2d(rand(B * H * dv), [B, H * dv]);
    const options = { inverse: inv, hasHistory: has, mask, codes: null, shape: { batchSize: B, maxLen: L, heads: H, groups: H, headDim: dh, valueDim: dv }, scale: 0.7 };
    const idx = tf.tensor1d(inv, 'int32');
    const penalty = tf.tensor2d(mask.map((m) => (m - 1) * 1e9), [B, L]);
    const fused = (...xs: tf.Tensor[]) => tf.sum(tf.mul(targetAttention(xs[0]!, xs[1]!, xs[2]!, xs[3]!, options), w));
    const stock = (...xs: tf.Tensor[]) => {
      const kp = tf.transpose(tf.reshape(tf.gather(xs[1]!, idx), [B, L, H, dh]), [0, 2, 1, 3]);
      const vp = tf.transpose(tf.reshape(tf.gather(xs[2]!, idx), [B, L, H, dv]), [0, 2, 1, 3]);
      const s = tf.reshape(tf.matMul(tf.reshape(xs[0]!, [B, H, 1, dh]), kp, false, true), [B, H, L]);
      const a = tf.softmax(tf.add(tf.mul(s, 0.7), tf.expandDims(tf.add(xs[3]!, penalty), 1)));
      return tf.sum(tf.mul(tf.reshape(tf.matMul(tf.reshape(a, [B, H, 1, L]), vp), [B, H * dv]), w));
    };
    tf.tidy(() => {
      expect(fused(q, k, v, e).dataSync()[0]).toBeCloseTo(stock(q, k, v, e).dataSync()[0]!, 4);
      const gf = tf.grads(fused)([q, k, v, e]);
      const gs = tf.grads(stock)([q, k, v, e]);
      gf.forEach((g, i) => {
        const a = g.dataSync();
        const b = gs[i]!.dataSync();
        expect(a.length).toBe(b.length);
        for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j]!, 4);
      });
    });
    expect(() => targetAttention(q, k, v, null, { ...options, codes: new Int32Array(U * H) })).toThrow(/grouped form \(codes\) needs valueDim = headDim/);
    tf.dispose([q, k, v, e, w, idx, penalty]);
  });
});
