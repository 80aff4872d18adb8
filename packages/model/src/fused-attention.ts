import { hostF32, scratchF32, scratchF64, tensorFromHost, tf } from '@vql/runtime';
import { decayMixtureGradAt, decayMixtureLogWeightAt, decayMixtureRates } from '@vql/temporal-kernel';
import type { Tensor } from '@vql/runtime';

export interface FusedAttentionShape {
  readonly batchSize: number; // B
  readonly maxLen: number; // L
  readonly heads: number; // H
  readonly groups: number; // G
  readonly headDim: number; // d_h (queries and keys)
  /** Value width per head, d_v; default d_h. Per-position form only (the grouped form needs d_v = d_h). */
  readonly valueDim?: number;
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
 * Logit terms of `targetAttention` besides q·k, all optional and summed per position l:
 * `extra[b, l]` (e.g. a generic kernel's log κ(dt)), `bias[inv[l]]` (a per-unique-row context
 * bias) and the exponential-decay mixture log κ(dt_l) = log Σ_r β_r e^{−λ_r·unit·dt_l} folded
 * into the op (no [B, L] tensors; gradients reach logRate and logBeta).
 */
export interface AttentionLogitTerms {
  readonly extra?: Tensor | null; // [B, L]
  readonly bias?: Tensor | null; // [U]
  readonly decay?: { readonly logRate: Tensor; readonly logBeta: Tensor; readonly unit: number; readonly dt: Float64Array } | null; // [R], [R], dt [B·L]
}

/**
 * `fusedTargetAttention` with a host padding mask (padding skipped instead of a −10⁹ logit),
 * optional logit terms (a tensor or null is the `extra` term alone) and the grouped per-code form
 * for quantized keys (`options.codes`). Float64 accumulation, float32 tensors out.
 */
export function targetAttention(query: Tensor, keys: Tensor, values: Tensor, terms: Tensor | null | AttentionLogitTerms, options: TargetAttentionOptions): Tensor {
  const t: AttentionLogitTerms = terms === null ? {} : terms instanceof tf.Tensor ? { extra: terms } : terms;
  const extra = t.extra ?? null;
  const bias = t.bias ?? null;
  const decay = t.decay ?? null;
  const inputs = [query, keys, values];
  if (extra !== null) inputs.push(extra);
  if (bias !== null) inputs.push(bias);
  if (decay !== null) inputs.push(decay.logRate, decay.logBeta);
  const op = tf.customGrad((...args) => {
    const a = args as Tensor[];
    // Host copies in this thread's reused buffers during a training step (host-scratch.ts).
    const q = hostF32(a[0]!);
    const k = hostF32(a[1]!);
    const v = hostF32(a[2]!);
    let next = 3;
    const extraHost = extra === null ? null : hostF32(a[next++]!);
    const biasHost = bias === null ? null : hostF32(a[next++]!);
    const decayHost =
      decay === null ? null : { lambda: decayMixtureRates(a[next++]!.dataSync(), decay.unit), logBeta: Float64Array.from(a[next++]!.dataSync()), dt: decay.dt };
    const U = a[1]!.shape[0]!;
    const { batchSize: B, maxLen: L, heads: H, headDim: dh, groups: G } = options.shape;
    const dv = options.shape.valueDim ?? dh;
    if (options.codes !== null && dv !== dh) throw new RangeError(`targetAttention: the grouped form (codes) needs valueDim = headDim, got ${dv} and ${dh}.`);
    const logits = positionLogits(extraHost, biasHost, decayHost, options);
    const kernel = options.codes === null ? perPosition(q, k, v, logits?.e ?? null, U, options) : grouped(q, k, v, logits?.e ?? null, U, options.codes, options);
    return {
      value: tensorFromHost(kernel.out, [B, H * dv]),
      gradFunc: (dy: Tensor) => {
        const grads = kernel.backward(hostF32(dy));
        const out: Tensor[] = [tensorFromHost(grads.dq, [B, H * dh]), tensorFromHost(grads.dk, [U, G * dh]), tensorFromHost(grads.dv, [U, H * dv])];
        if (extra !== null) out.push(tensorFromHost(grads.de, [B, L]));
        if (logits !== null) {
          const back = logits.backward(grads.de, U);
          if (bias !== null) out.push(tensorFromHost(back.dBias, bias.shape));
          if (decay !== null) out.push(tf.tensor1d(Float32Array.from(back.dLogRate)), tf.tensor1d(Float32Array.from(back.dLogBeta)));
        }
        return out;
      },
    };
  });
  return op(...inputs);
}

/**
 * e[p] = extra[p] + bias[inv[p]] + log κ(dt[p]) per counted position, on the host (null when
 * there is no term), and its backward: the per-position logit gradient de spread to the bias
 * rows and the kernel's log-rates and log-weights.
 */
function positionLogits(
  extra: Float32Array | null,
  bias: Float32Array | null,
  decay: { lambda: Float64Array; logBeta: Float64Array; dt: Float64Array } | null,
  o: TargetAttentionOptions,
): { e: Float64Array; backward(de: Float32Array, U: number): { dBias: Float32Array; dLogRate: Float64Array; dLogBeta: Float64Array } } | null {
  if (extra === null && bias === null && decay === null) return null;
  const { batchSize: B, maxLen: L } = o.shape;
  const { inverse, hasHistory, mask } = o;
  const N = B * L;
  const e = scratchF64(N);
  const R = decay === null ? 0 : decay.lambda.length;
  const weights = decay === null ? null : scratchF64(N * R);
  const terms = new Float64Array(R);
  const counted = (p: number): boolean => hasHistory[(p / L) | 0] !== 0 && (mask === null || mask[p] !== 0);
  for (let p = 0; p < N; p++) {
    if (!counted(p)) continue;
    let x = extra === null ? 0 : extra[p]!;
    if (bias !== null) x += bias[inverse[p]!]!;
    if (decay !== null) x += decayMixtureLogWeightAt(decay.dt[p]!, decay.lambda, decay.logBeta, weights!, p * R, terms);
    e[p] = x;
  }
  return {
    e,
    backward: (de, U) => {
      const dBias = scratchF32(bias === null ? 0 : U);
      const dLogRate = new Float64Array(R);
      const dLogBeta = new Float64Array(R);
      for (let p = 0; p < N; p++) {
        const g = de[p]!;
        if (g === 0) continue;
        if (bias !== null) dBias[inverse[p]!] += g;
        if (decay !== null) decayMixtureGradAt(g, decay.dt[p]!, decay.lambda, weights!, p * R, dLogRate, dLogBeta);
      }
      return { dBias, dLogRate, dLogBeta };
    },
  };
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

/**
 * Logits per position and head, softmax per target and head; the weights are kept position-major
 * ([B·L·H], the heads of a position side by side) for the backward pass, which is one pass over
 * the positions: with Σ_l a_l (g·v_l) = g·out,  ds = a (g·v − g·out),  dv += a·g,
 * dq += ds·scale·k,  dk += ds·scale·q,  de = Σ_h ds — each key and value row read once per position.
 */
function perPosition(q: Float32Array, k: Float32Array, v: Float32Array, e: Float64Array | null, U: number, o: TargetAttentionOptions): ForwardResult {
  const { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh } = o.shape;
  const { inverse, hasHistory, mask, scale } = o;
  const hpg = H / G;
  const dv = o.shape.valueDim ?? dh;
  const kw = G * dh;
  const qw = H * dh;
  const vw = H * dv;
  const attn = scratchF32(B * L * H);
  const out64 = scratchF64(B * vw);
  const s = scratchF64(H * L);
  for (let b = 0; b < B; b++) {
    if (hasHistory[b] === 0) continue;
    const row = b * L;
    const qb = b * qw;
    const ob = b * vw;
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
      const inv = 1 / z;
      for (let l = 0; l < L; l++) attn[(row + l) * H + h] = s[so + l]! * inv;
    }
    if (!any) continue;
    for (let l = 0; l < L; l++) {
      const vb = inverse[row + l]! * vw;
      const ab = (row + l) * H;
      for (let h = 0; h < H; h++) {
        const a = attn[ab + h]!;
        if (a === 0) continue;
        const ho = h * dv;
        for (let c = 0; c < dv; c++) out64[ob + ho + c] += a * v[vb + ho + c]!;
      }
    }
  }
  const out = scratchF32(B * vw);
  out.set(out64);
  return {
    out,
    backward: (g) => {
      const dq = scratchF32(B * qw);
      const dk = scratchF32(U * kw);
      const dV = scratchF32(U * vw);
      const de = scratchF32(B * L);
      const mean = new Float64Array(H);
      const dqAcc = new Float64Array(qw);
      for (let b = 0; b < B; b++) {
        if (hasHistory[b] === 0) continue;
        const row = b * L;
        const qb = b * qw;
        const ob = b * vw;
        for (let h = 0; h < H; h++) {
          let m = 0;
          for (let c = 0; c < dv; c++) m += g[ob + h * dv + c]! * out64[ob + h * dv + c]!;
          mean[h] = m;
        }
        dqAcc.fill(0);
        for (let l = 0; l < L; l++) {
          const ab = (row + l) * H;
          const u = inverse[row + l]!;
          const vb = u * vw;
          const kb = u * kw;
          let dsum = 0;
          for (let h = 0; h < H; h++) {
            const a = attn[ab + h]!;
            if (a === 0) continue;
            const vo = h * dv;
            let dot = 0;
            for (let c = 0; c < dv; c++) {
              const gc = g[ob + vo + c]!;
              dot += gc * v[vb + vo + c]!;
              dV[vb + vo + c] += a * gc;
            }
            const ds = a * (dot - mean[h]!);
            dsum += ds;
            const f = ds * scale;
            const ko = kb + ((h / hpg) | 0) * dh;
            const ho = h * dh;
            for (let c = 0; c < dh; c++) {
              dqAcc[ho + c] += f * k[ko + c]!;
              dk[ko + c] += f * q[qb + ho + c]!;
            }
          }
          de[row + l] = dsum;
        }
        for (let c = 0; c < qw; c++) dq[qb + c] = dqAcc[c]!;
      }
      return { dq, dk, dv: dV, de };
    },
  };
}

/** DESIGN §2 grouped form: per user, sums of values per used code, then K logits per head. */
function grouped(q: Float32Array, k: Float32Array, v: Float32Array, e: Float64Array | null, U: number, codes: Int32Array, o: TargetAttentionOptions): ForwardResult {
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
  const out = scratchF32(B * vw);
  const out64 = scratchF64(B * vw);
  const alpha = scratchF64(B * H * K); // e^{u_j+E_j−M} / D per user, head, code
  const wpos = scratchF64(B * L * G); // e^{e_l − E_{z_l}} per position and group
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
      const dq = scratchF32(B * vw);
      const dk = scratchF32(U * kw);
      const dv = scratchF32(U * vw);
      const de = scratchF32(B * L);
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
