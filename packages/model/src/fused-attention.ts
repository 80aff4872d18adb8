import { tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';

export interface FusedAttentionShape {
  readonly batchSize: number; // B
  readonly maxLen: number; // L
  readonly heads: number; // H
  readonly groups: number; // G
  readonly headDim: number; // d_h
}

/**
 * Multi-head target attention over per-unique-row keys and values, as one custom op whose
 * forward and backward are plain typed-array loops:
 *
 *   s[b,h,l] = q[b,h]·K[inv[b,l], g(h)]·scale + extra[b,l],  a = softmax_l(s),
 *   out[b,h] = Σ_l a[b,h,l] V[inv[b,l], h]   (zeros where hasHistory[b] = 0).
 *
 * Nothing per position wider than a scalar is ever materialised: the [B·L, d] gathers, the
 * batched matmuls with one query row per head and their gradients (≈ 10 tfjs ops at ~1 GB/s
 * on wasm) become O(B·H·L·d_h) multiply-adds in JIT-compiled loops. Inputs: query [B, H·d_h],
 * keys [U, G·d_h], values [U, H·d_h], extra [B, L]; output [B, H·d_h]; gradients reach all four.
 */
export function fusedTargetAttention(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  extra: Tensor,
  inverse: Int32Array,
  hasHistory: Float32Array,
  shape: FusedAttentionShape,
  scale: number,
): Tensor {
  const { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh } = shape;
  const hpg = H / G;
  const op = tf.customGrad((...args) => {
    const q = (args[0] as Tensor).dataSync() as Float32Array;
    const k = (args[1] as Tensor).dataSync() as Float32Array;
    const v = (args[2] as Tensor).dataSync() as Float32Array;
    const e = (args[3] as Tensor).dataSync() as Float32Array;
    const U = (args[1] as Tensor).shape[0]!;
    const kw = G * dh;
    const vw = H * dh;
    const attn = new Float32Array(B * H * L); // softmax weights, kept for the backward pass
    const out = new Float32Array(B * vw);
    const s = new Float64Array(L);
    for (let b = 0; b < B; b++) {
      if (hasHistory[b] === 0) continue;
      const row = b * L;
      for (let h = 0; h < H; h++) {
        const qo = b * vw + h * dh;
        const ko = Math.floor(h / hpg) * dh;
        let max = -Infinity;
        for (let l = 0; l < L; l++) {
          const kb = inverse[row + l]! * kw + ko;
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += q[qo + c]! * k[kb + c]!;
          const x = dot * scale + e[row + l]!;
          s[l] = x;
          if (x > max) max = x;
        }
        let z = 0;
        for (let l = 0; l < L; l++) {
          const w = Math.exp(s[l]! - max);
          s[l] = w;
          z += w;
        }
        const ao = (b * H + h) * L;
        for (let l = 0; l < L; l++) {
          const a = s[l]! / z;
          attn[ao + l] = a;
          if (a === 0) continue;
          const vb = inverse[row + l]! * vw + h * dh;
          for (let c = 0; c < dh; c++) out[qo + c] = out[qo + c]! + a * v[vb + c]!;
        }
      }
    }
    return {
      value: tf.tensor2d(out, [B, vw]),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dq = new Float32Array(B * vw);
        const dk = new Float32Array(U * kw);
        const dv = new Float32Array(U * vw);
        const de = new Float32Array(B * L);
        const da = new Float64Array(L);
        for (let b = 0; b < B; b++) {
          if (hasHistory[b] === 0) continue;
          const row = b * L;
          for (let h = 0; h < H; h++) {
            const qo = b * vw + h * dh;
            const ko = Math.floor(h / hpg) * dh;
            const ao = (b * H + h) * L;
            // dA_l = dOut·v_l ; dV_l += a_l dOut ; softmax backward ds = a (dA − Σ a dA).
            let mean = 0;
            for (let l = 0; l < L; l++) {
              const a = attn[ao + l]!;
              if (a === 0) {
                da[l] = 0;
                continue;
              }
              const vb = inverse[row + l]! * vw + h * dh;
              let dot = 0;
              for (let c = 0; c < dh; c++) {
                dot += g[qo + c]! * v[vb + c]!;
                dv[vb + c] = dv[vb + c]! + a * g[qo + c]!;
              }
              da[l] = dot;
              mean += a * dot;
            }
            for (let l = 0; l < L; l++) {
              const a = attn[ao + l]!;
              if (a === 0) continue;
              const ds = a * (da[l]! - mean);
              de[row + l] = de[row + l]! + ds;
              const kb = inverse[row + l]! * kw + ko;
              const f = ds * scale;
              for (let c = 0; c < dh; c++) {
                dq[qo + c] = dq[qo + c]! + f * k[kb + c]!;
                dk[kb + c] = dk[kb + c]! + f * q[qo + c]!;
              }
            }
          }
        }
        return [tf.tensor2d(dq, [B, vw]), tf.tensor2d(dk, [U, kw]), tf.tensor2d(dv, [U, vw]), tf.tensor2d(de, [B, L])];
      },
    };
  });
  return op(query, keys, values, extra);
}
