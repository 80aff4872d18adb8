import { tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';

export interface FusedAttentionShape {
  readonly batchSize: number; // B
  readonly maxLen: number; // L
  readonly heads: number; // H
  readonly groups: number; // G
  readonly headDim: number; // d_h
}

export interface TargetAttentionOptions {
  /** Row of each position in the unique arrays. */
  readonly inverse: Int32Array; // [B·L]
  /** 1 = the row has at least one behaviour; 0 = exact zeros out and no gradient. */
  readonly hasHistory: Float32Array; // [B]
  /**
   * 1 real / 0 padding. Padding is skipped, which is what a −10⁹ logit does exactly (its weight
   * underflows to 0) in any row with one real position. Null: every position counts.
   */
  readonly mask: Float32Array | null; // [B·L]
  /**
   * Code of every unique row per head group (VQL). When given, rows with one code share one key
   * (the code), so the logits are computed once per used code (DESIGN §2, grouped form):
   * o = Σ_j e^{u_j+E_j} S_j / Σ_j e^{u_j+E_j} N_j with, per user and code j,
   * E_j = max e_l, N_j = Σ e^{e_l−E_j}, S_j = Σ e^{e_l−E_j} v_l over the positions of code j.
   * Same attention weights as the per-position form; the exact max is kept (max_j u_j + E_j).
   */
  readonly codes: Int32Array | null; // [U·G]
  readonly shape: FusedAttentionShape;
  readonly scale: number;
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
  return targetAttention(query, keys, values, extra, { inverse, hasHistory, mask: null, codes: null, shape, scale });
}

/**
 * `fusedTargetAttention` with a host padding mask (padding skipped instead of a −10⁹ logit), an
 * optional `extra` (null = no per-position logit term) and the grouped per-code form for
 * quantized keys (`options.codes`). Loops run position-major, so each position reads its key and
 * value rows once for all heads. Float64 accumulation, float32 tensors out.
 */
export function targetAttention(query: Tensor, keys: Tensor, values: Tensor, extra: Tensor | null, options: TargetAttentionOptions): Tensor {
  const op = tf.customGrad((...args) => {
    const q = (args[0] as Tensor).dataSync() as Float32Array;
    const k = (args[1] as Tensor).dataSync() as Float32Array;
    const v = (args[2] as Tensor).dataSync() as Float32Array;
    const e = extra === null ? null : ((args[3] as Tensor).dataSync() as Float32Array);
    const U = (args[1] as Tensor).shape[0]!;
    const kernel = options.codes === null ? perPosition(q, k, v, e, U, options) : grouped(q, k, v, e, U, options.codes, options);
    const { batchSize: B, maxLen: L, heads: H, headDim: dh, groups: G } = options.shape;
    return {
      value: tf.tensor2d(kernel.out, [B, H * dh]),
      gradFunc: (dy: Tensor) => {
        const grads = kernel.backward(dy.dataSync() as Float32Array);
        const out = [tf.tensor2d(grads.dq, [B, H * dh]), tf.tensor2d(grads.dk, [U, G * dh]), tf.tensor2d(grads.dv, [U, H * dh])];
        if (extra !== null) out.push(tf.tensor2d(grads.de, [B, L]));
        return out;
      },
    };
  });
  return extra === null ? op(query, keys, values) : op(query, keys, values, extra);
}

interface Grads {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  de: Float32Array;
}

interface ForwardResult {
  out: Float32Array;
  backward(g: Float32Array): Grads;
}

/** Logits per position and head; softmax weights kept ([B·H·L]) for the backward pass. */
function perPosition(q: Float32Array, k: Float32Array, v: Float32Array, e: Float32Array | null, U: number, o: TargetAttentionOptions): ForwardResult {
  const { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh } = o.shape;
  const { inverse, hasHistory, mask, scale } = o;
  const hpg = H / G;
  const kw = G * dh;
  const vw = H * dh;
  const attn = new Float32Array(B * H * L);
  const out = new Float32Array(B * vw);
  const s = new Float64Array(H * L);
  const acc = new Float64Array(vw);
  for (let b = 0; b < B; b++) {
    if (hasHistory[b] === 0) continue;
    const row = b * L;
    const qb = b * vw;
    for (let l = 0; l < L; l++) {
      if (mask !== null && mask[row + l] === 0) {
        for (let h = 0; h < H; h++) s[h * L + l] = -Infinity;
        continue;
      }
      const kb = inverse[row + l]! * kw;
      const eb = e === null ? 0 : e[row + l]!;
      for (let h = 0; h < H; h++) {
        const ko = kb + ((h / hpg) | 0) * dh;
        const qo = qb + h * dh;
        let dot = 0;
        for (let c = 0; c < dh; c++) dot += q[qo + c]! * k[ko + c]!;
        s[h * L + l] = dot * scale + eb;
      }
    }
    let any = false;
    for (let h = 0; h < H; h++) {
      const so = h * L;
      let max = -Infinity;
      for (let l = 0; l < L; l++) if (s[so + l]! > max) max = s[so + l]!;
      if (max === -Infinity) continue; // every position masked: zeros, like an empty history
      any = true;
      let z = 0;
      for (let l = 0; l < L; l++) {
        const w = Math.exp(s[so + l]! - max);
        s[so + l] = w;
        z += w;
      }
      const ao = (b * H + h) * L;
      for (let l = 0; l < L; l++) attn[ao + l] = s[so + l]! / z;
    }
    if (!any) continue;
    acc.fill(0);
    for (let l = 0; l < L; l++) {
      const vb = inverse[row + l]! * vw;
      for (let h = 0; h < H; h++) {
        const a = attn[(b * H + h) * L + l]!;
        if (a === 0) continue;
        const ho = h * dh;
        for (let c = 0; c < dh; c++) acc[ho + c] += a * v[vb + ho + c]!;
      }
    }
    for (let c = 0; c < vw; c++) out[qb + c] = acc[c]!;
  }
  return {
    out,
    backward: (g) => {
      const dq = new Float32Array(B * vw);
      const dk = new Float32Array(U * kw);
      const dv = new Float32Array(U * vw);
      const de = new Float32Array(B * L);
      const da = new Float64Array(H * L);
      const mean = new Float64Array(H);
      const dqAcc = new Float64Array(vw);
      for (let b = 0; b < B; b++) {
        if (hasHistory[b] === 0) continue;
        const row = b * L;
        const qb = b * vw;
        // dA_l = dOut·v_l ; dV_l += a_l dOut ; softmax backward ds = a (dA − Σ a dA).
        mean.fill(0);
        for (let l = 0; l < L; l++) {
          const vb = inverse[row + l]! * vw;
          for (let h = 0; h < H; h++) {
            const a = attn[(b * H + h) * L + l]!;
            if (a === 0) continue;
            const ho = h * dh;
            let dot = 0;
            for (let c = 0; c < dh; c++) {
              const gc = g[qb + ho + c]!;
              dot += gc * v[vb + ho + c]!;
              dv[vb + ho + c] += a * gc;
            }
            da[h * L + l] = dot;
            mean[h] += a * dot;
          }
        }
        dqAcc.fill(0);
        for (let l = 0; l < L; l++) {
          const u = inverse[row + l]!;
          let dsum = 0;
          for (let h = 0; h < H; h++) {
            const a = attn[(b * H + h) * L + l]!;
            if (a === 0) continue;
            const ds = a * (da[h * L + l]! - mean[h]!);
            dsum += ds;
            const f = ds * scale;
            const ko = u * kw + ((h / hpg) | 0) * dh;
            const ho = h * dh;
            for (let c = 0; c < dh; c++) {
              dqAcc[ho + c] += f * k[ko + c]!;
              dk[ko + c] += f * q[qb + ho + c]!;
            }
          }
          de[row + l] = dsum;
        }
        for (let c = 0; c < vw; c++) dq[qb + c] = dqAcc[c]!;
      }
      return { dq, dk, dv, de };
    },
  };
}

/** DESIGN §2 grouped form: per user, sums of values per used code, then K logits per head. */
function grouped(q: Float32Array, k: Float32Array, v: Float32Array, e: Float32Array | null, U: number, codes: Int32Array, o: TargetAttentionOptions): ForwardResult {
  const { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh } = o.shape;
  const { inverse, hasHistory, mask, scale } = o;
  const hpg = H / G;
  const kw = G * dh;
  const vw = H * dh;
  const gw = hpg * dh; // value width of one group's heads
  let K = 1;
  for (let i = 0; i < U * G; i++) if (codes[i]! + 1 > K) K = codes[i]! + 1;
  // The key of code j in group g, read from the first row that uses it.
  const codeKey = new Float64Array(G * K * dh);
  const seen = new Uint8Array(G * K);
  for (let u = 0; u < U; u++) {
    for (let g = 0; g < G; g++) {
      const idx = g * K + codes[u * G + g]!;
      if (seen[idx] === 1) continue;
      seen[idx] = 1;
      for (let c = 0; c < dh; c++) codeKey[idx * dh + c] = k[u * kw + g * dh + c]!;
    }
  }
  const out = new Float32Array(B * vw);
  const out64 = new Float64Array(B * vw);
  const alpha = new Float64Array(B * H * K); // e^{u_j+E_j−M} / D per user, head, code
  const wpos = new Float64Array(B * L * G); // e^{e_l − E_{z_l}} per position and group
  const E = new Float64Array(G * K).fill(-Infinity);
  const N = new Float64Array(G * K);
  const S = new Float64Array(G * K * gw);
  const touched = new Int32Array(G * K);
  for (let b = 0; b < B; b++) {
    if (hasHistory[b] === 0) continue;
    const row = b * L;
    let nt = 0;
    for (let l = 0; l < L; l++) {
      if (mask !== null && mask[row + l] === 0) continue;
      const u = inverse[row + l]!;
      const eb = e === null ? 0 : e[row + l]!;
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        if (E[idx] === -Infinity) touched[nt++] = idx;
        if (eb > E[idx]!) E[idx] = eb;
      }
    }
    if (nt === 0) continue;
    for (let l = 0; l < L; l++) {
      if (mask !== null && mask[row + l] === 0) continue;
      const u = inverse[row + l]!;
      const eb = e === null ? 0 : e[row + l]!;
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        const w = Math.exp(eb - E[idx]!);
        wpos[(row + l) * G + g] = w;
        N[idx] += w;
        const vb = u * vw + g * gw;
        const sb = idx * gw;
        for (let t = 0; t < gw; t++) S[sb + t] += w * v[vb + t]!;
      }
    }
    for (let h = 0; h < H; h++) {
      const g = (h / hpg) | 0;
      const hh = h - g * hpg;
      const qo = b * vw + h * dh;
      const ab = (b * H + h) * K;
      let max = -Infinity;
      for (let t = 0; t < nt; t++) {
        const idx = touched[t]!;
        if (((idx / K) | 0) !== g) continue;
        let dot = 0;
        for (let c = 0; c < dh; c++) dot += q[qo + c]! * codeKey[idx * dh + c]!;
        const logit = dot * scale + E[idx]!;
        alpha[ab + idx - g * K] = logit;
        if (logit > max) max = logit;
      }
      let D = 0;
      for (let t = 0; t < nt; t++) {
        const idx = touched[t]!;
        if (((idx / K) | 0) !== g) continue;
        const p = Math.exp(alpha[ab + idx - g * K]! - max);
        alpha[ab + idx - g * K] = p;
        D += p * N[idx]!;
      }
      for (let t = 0; t < nt; t++) {
        const idx = touched[t]!;
        if (((idx / K) | 0) !== g) continue;
        const p = alpha[ab + idx - g * K]! / D;
        alpha[ab + idx - g * K] = p;
        const sb = idx * gw + hh * dh;
        for (let c = 0; c < dh; c++) out64[qo + c] += p * S[sb + c]!;
      }
      for (let c = 0; c < dh; c++) out[qo + c] = out64[qo + c]!;
    }
    for (let t = 0; t < nt; t++) {
      const idx = touched[t]!;
      E[idx] = -Infinity;
      N[idx] = 0;
      S.fill(0, idx * gw, (idx + 1) * gw);
    }
  }
  return {
    out,
    backward: (gr) => {
      const dq = new Float32Array(B * vw);
      const dk = new Float32Array(U * kw);
      const dv = new Float32Array(U * vw);
      const de = new Float32Array(B * L);
      const mean = new Float64Array(H);
      const dsCode = new Float64Array(H * K); // Σ over the positions of code j of ds·scale, per head
      for (let b = 0; b < B; b++) {
        if (hasHistory[b] === 0) continue;
        const row = b * L;
        const qb = b * vw;
        // Σ_l a_l (dOut·v_l) = dOut·out.
        for (let h = 0; h < H; h++) {
          let m = 0;
          for (let c = 0; c < dh; c++) m += gr[qb + h * dh + c]! * out64[qb + h * dh + c]!;
          mean[h] = m;
        }
        dsCode.fill(0);
        for (let l = 0; l < L; l++) {
          if (mask !== null && mask[row + l] === 0) continue;
          const u = inverse[row + l]!;
          let dsum = 0;
          for (let g = 0; g < G; g++) {
            const j = codes[u * G + g]!;
            const w = wpos[(row + l) * G + g]!;
            if (w === 0) continue;
            const ko = u * kw + g * dh;
            for (let hh = 0; hh < hpg; hh++) {
              const h = g * hpg + hh;
              const a = alpha[(b * H + h) * K + j]! * w;
              if (a === 0) continue;
              const ho = h * dh;
              const vb = u * vw + ho;
              let dot = 0;
              for (let c = 0; c < dh; c++) {
                const gc = gr[qb + ho + c]!;
                dot += gc * v[vb + c]!;
                dv[vb + c] += a * gc;
              }
              const ds = a * (dot - mean[h]!);
              dsum += ds;
              const f = ds * scale;
              dsCode[h * K + j] += f;
              for (let c = 0; c < dh; c++) dk[ko + c] += f * q[qb + ho + c]!;
            }
          }
          de[row + l] = dsum;
        }
        // dq_h = Σ_l f_l k_l = Σ_j (Σ_{l: z_l = j} f_l) c_j: one pass over the codes.
        for (let h = 0; h < H; h++) {
          const g = (h / hpg) | 0;
          const ho = h * dh;
          for (let j = 0; j < K; j++) {
            const f = dsCode[h * K + j]!;
            if (f === 0) continue;
            const cb = (g * K + j) * dh;
            for (let c = 0; c < dh; c++) dq[qb + ho + c] += f * codeKey[cb + c]!;
          }
        }
      }
      return { dq, dk, dv, de };
    },
  };
}
