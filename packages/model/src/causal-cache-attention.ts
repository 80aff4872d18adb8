import { tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import type { AttentionShape } from './attention-core.js';

/**
 * Where the events and targets of a user-grouped batch lie (DESIGN §2b). Events of user k are
 * [eventOffsets[k], eventOffsets[k+1]) with non-decreasing times; its targets are
 * [targetOffsets[k], targetOffsets[k+1]) in time order, target j seeing the user's first
 * historyEnd[j] events (non-decreasing in j, every one strictly before the target in time).
 */
export interface CausalLayout {
  readonly numUsers: number; // Bu
  readonly eventOffsets: Int32Array; // [Bu+1]
  readonly eventRow: Int32Array; // [E] unique row of each event (keys, values, bias are per row)
  readonly eventTime: Float64Array; // [E] seconds
  readonly targetOffsets: Int32Array; // [Bu+1]
  readonly targetTime: Float64Array; // [T] seconds
  readonly historyEnd: Int32Array; // [T] relative to the user's first event
}

export interface CausalCacheOptions {
  readonly layout: CausalLayout;
  /** Code of every unique row per head group, [U·G] (the keys are the straight-through codes). */
  readonly codes: Int32Array;
  readonly shape: AttentionShape;
  /** Factor on q·c (1/√d_h). */
  readonly scale: number;
  /** Seconds per kernel time unit: λ_r = e^{logRate_r}·unit per second. */
  readonly kernelUnit: number;
}

/**
 * VQL attention of every target over all the behaviours before it, trained from causal caches
 * (DESIGN §2b), as one custom op whose forward and backward are typed-array scans.
 *
 * Per user, the state after the behaviours before target j is the cache of DESIGN §1, anchored
 * at the newest of them (τ_j):  N[g,c,r] = Σ_{i: z_i=c} w_i e^{−λ_r(τ_j−t_i)},
 * S[g,c,r] = Σ w_i e^{−λ_r(τ_j−t_i)} v_i (the heads of g), w_i = e^{b_i − max b}. Moving to the
 * next segment multiplies by e^{−λ_r(τ_{j+1}−τ_j)} ≤ 1 and adds the segment's behaviours, each
 * term ≤ 1: nothing overflows, and the newest behaviour contributes exactly w_i, so a basis never
 * underflows to an all-zero state. The readout is the cache scorer's:
 *   o^h = Σ_c e^{u_c} Σ_r φ_r S[c,r] / Σ_c e^{u_c} Σ_r φ_r N[c,r],  u_c = q^h·c_{g,c}·scale,
 *   φ_r = β_r e^{−λ_r(t_j−τ_j)} (normalised by its max over r; the ratio is invariant).
 * Equal to per-position VQL attention with log-kernel logits over the same whole histories.
 *
 * Backward: a forward re-scan (with time-weighted sums S' = Σ (τ−t_i)·terms for ∂/∂λ) gives
 * dq, dβ, dλ per target; a reverse scan of the adjoint state (decayed backwards, every factor
 * ≤ 1) gives dv, db and the straight-through key gradient dk per behaviour (summed per unique
 * row). Cost O(E·(G·R·(d_h+1)·H/G·d_h)) for the behaviours plus O(T·K·R·H·d_h²) for the targets:
 * independent of how long the histories are per target.
 *
 * Inputs: query [T, H·d_h], keys [U, G·d_h], values [U, H·d_h], bias [U] or null, logRate and
 * logBeta [R] or null (no temporal kernel: κ ≡ 1). Output [T, H·d_h]; gradients reach all inputs.
 */
export function causalCacheAttention(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  bias: Tensor | null,
  logRate: Tensor | null,
  logBeta: Tensor | null,
  options: CausalCacheOptions,
): Tensor {
  const hasKernel = logRate !== null && logBeta !== null;
  const inputs: Tensor[] = [query, keys, values];
  if (bias !== null) inputs.push(bias);
  if (hasKernel) inputs.push(logRate, logBeta);
  const T = query.shape[0]!;
  const U = keys.shape[0]!;
  const { heads: H, groups: G, headDim: dh } = options.shape;
  const op = tf.customGrad((...args) => {
    const t = args as Tensor[];
    let k = 3;
    const b = bias !== null ? (t[k++]!.dataSync() as Float32Array) : null;
    const lr = hasKernel ? t[k++]!.dataSync() : null;
    const lb = hasKernel ? t[k++]!.dataSync() : null;
    const kernel = causalCacheHost(
      t[0]!.dataSync() as Float32Array,
      t[1]!.dataSync() as Float32Array,
      t[2]!.dataSync() as Float32Array,
      b,
      lr === null ? null : Float64Array.from(lr),
      lb === null ? null : Float64Array.from(lb),
      U,
      options,
    );
    return {
      value: tf.tensor2d(kernel.out, [T, H * dh]),
      gradFunc: (dy: Tensor) => {
        const g = kernel.backward(dy.dataSync() as Float32Array);
        const out: Tensor[] = [tf.tensor2d(g.dq, [T, H * dh]), tf.tensor2d(g.dk, [U, G * dh]), tf.tensor2d(g.dv, [U, H * dh])];
        if (bias !== null) out.push(tf.tensor(g.db, bias.shape));
        if (hasKernel) out.push(tf.tensor1d(g.dLogRate), tf.tensor1d(g.dLogBeta));
        return out;
      },
    };
  });
  return op(...inputs);
}

export interface CausalCacheGrads {
  dq: Float32Array; // [T·H·d_h]
  dk: Float32Array; // [U·G·d_h]
  dv: Float32Array; // [U·H·d_h]
  db: Float32Array; // [U]
  dLogRate: Float32Array; // [R]
  dLogBeta: Float32Array; // [R]
}

/** The host math of `causalCacheAttention`: forward now, backward on demand. */
export function causalCacheHost(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: Float32Array | null,
  logRate: Float64Array | null,
  logBeta: Float64Array | null,
  U: number,
  o: CausalCacheOptions,
): { out: Float32Array; backward(g: Float32Array): CausalCacheGrads } {
  const { heads: H, groups: G, headDim: dh } = o.shape;
  const { layout, codes, scale } = o;
  const { eventOffsets, eventRow, eventTime, targetOffsets, targetTime, historyEnd } = layout;
  const T = targetTime.length;
  const hpg = H / G;
  const kw = G * dh;
  const vw = H * dh;
  const gw = hpg * dh;
  const R = logRate === null ? 1 : logRate.length;
  // Rounded like tfjs's exp(logRate)·unit (and the per-position kernel op), so both paths see one λ.
  const lambda = new Float64Array(R);
  const logB = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    lambda[r] = logRate === null ? 0 : Math.fround(Math.fround(Math.exp(logRate[r]!)) * o.kernelUnit);
    logB[r] = logBeta === null ? 0 : logBeta[r]!;
  }
  let K = 1;
  for (let i = 0; i < U * G; i++) if (codes[i]! + 1 > K) K = codes[i]! + 1;
  // Key of code c of group g, read from the first row that uses it (straight-through keys equal their code).
  const codeKey = new Float64Array(G * K * dh);
  {
    const seen = new Uint8Array(G * K);
    for (let i = 0; i < eventRow.length; i++) {
      const u = eventRow[i]!;
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        if (seen[idx] === 1) continue;
        seen[idx] = 1;
        for (let c = 0; c < dh; c++) codeKey[idx * dh + c] = k[u * kw + g * dh + c]!;
      }
    }
  }
  const GK = G * K;
  // Forward state, per (g, c, r) and per (g, c, r, head of g, d_h); primes are the time-weighted sums.
  const N = new Float64Array(GK * R);
  const S = new Float64Array(GK * R * gw);
  const Np = new Float64Array(GK * R);
  const Sp = new Float64Array(GK * R * gw);
  const firstSeen = new Int32Array(GK).fill(-1); // relative event index where code (g, c) first occurs in the current user
  const present = new Int32Array(GK); // list of (g·K + c) seen in the current user
  let nPresent = 0;
  const weightOf = new Float64Array(eventRow.length); // w_i = e^{b_i − max_user b}
  const decay = new Float64Array(R);
  const term = new Float64Array(R);
  const phi = new Float64Array(T * R); // normalised φ_r per target
  const maxU = new Float64Array(T * H); // max_c u_c per target and head
  const den = new Float64Array(T * H);
  const out64 = new Float64Array(T * vw);
  const out = new Float32Array(T * vw);
  const uBuf = new Float64Array(K);

  const resetUser = (): void => {
    for (let p = 0; p < nPresent; p++) {
      const idx = present[p]!;
      firstSeen[idx] = -1;
      N.fill(0, idx * R, (idx + 1) * R);
      Np.fill(0, idx * R, (idx + 1) * R);
      S.fill(0, idx * R * gw, (idx + 1) * R * gw);
      Sp.fill(0, idx * R * gw, (idx + 1) * R * gw);
    }
    nPresent = 0;
  };

  const userWeights = (e0: number, e1: number): void => {
    let bmax = -Infinity;
    if (bias !== null) for (let i = e0; i < e1; i++) bmax = Math.max(bmax, bias[eventRow[i]!]!);
    for (let i = e0; i < e1; i++) weightOf[i] = bias === null ? 1 : Math.exp(bias[eventRow[i]!]! - bmax);
  };

  /** Moves the state from anchor `tau` to `tauNew` and adds events [from, to) of the user based at e0. */
  const advance = (e0: number, from: number, to: number, tau: number, tauNew: number, primes: boolean): void => {
    if (nPresent > 0 && tauNew !== tau) {
      const dT = tauNew - tau;
      for (let r = 0; r < R; r++) decay[r] = Math.exp(-lambda[r]! * dT);
      for (let p = 0; p < nPresent; p++) {
        const idx = present[p]!;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const f = decay[r]!;
          if (primes) Np[s] = f * (Np[s]! + dT * N[s]!);
          N[s] = f * N[s]!;
          const so = s * gw;
          if (primes) for (let x = 0; x < gw; x++) Sp[so + x] = f * (Sp[so + x]! + dT * S[so + x]!);
          for (let x = 0; x < gw; x++) S[so + x] = f * S[so + x]!;
        }
      }
    }
    for (let i = from; i < to; i++) {
      const ev = e0 + i;
      const u = eventRow[ev]!;
      const age = tauNew - eventTime[ev]!;
      const w = weightOf[ev]!;
      for (let r = 0; r < R; r++) term[r] = w * Math.exp(-lambda[r]! * age);
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        if (firstSeen[idx] === -1) {
          firstSeen[idx] = i;
          present[nPresent++] = idx;
        }
        const vb = u * vw + g * gw;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const a = term[r]!;
          N[s] += a;
          const so = s * gw;
          for (let x = 0; x < gw; x++) S[so + x] += a * v[vb + x]!;
          if (primes) {
            const ap = a * age;
            Np[s] += ap;
            for (let x = 0; x < gw; x++) Sp[so + x] += ap * v[vb + x]!;
          }
        }
      }
    }
  };

  /** Normalised φ of target j at anchor tau, into phi[j·R ...]; returns δ = t_j − τ. */
  const setPhi = (j: number, tau: number): number => {
    const delta = targetTime[j]! - tau;
    let m = -Infinity;
    for (let r = 0; r < R; r++) m = Math.max(m, logB[r]! - lambda[r]! * delta);
    for (let r = 0; r < R; r++) phi[j * R + r] = Math.exp(logB[r]! - lambda[r]! * delta - m);
    return delta;
  };

  /** u_c for the present codes of group g at target j, head h, into uBuf[c]; returns the max. */
  const logits = (j: number, h: number, g: number): number => {
    let m = -Infinity;
    const qo = j * vw + h * dh;
    for (let p = 0; p < nPresent; p++) {
      const idx = present[p]!;
      if (((idx / K) | 0) !== g) continue;
      const c = idx - g * K;
      let dot = 0;
      for (let x = 0; x < dh; x++) dot += q[qo + x]! * codeKey[idx * dh + x]!;
      const u = dot * scale;
      uBuf[c] = u;
      if (u > m) m = u;
    }
    return m;
  };

  // Forward.
  for (let user = 0; user < layout.numUsers; user++) {
    const e0 = eventOffsets[user]!;
    userWeights(e0, eventOffsets[user + 1]!);
    resetUser();
    let seen = 0;
    let tau = 0;
    for (let j = targetOffsets[user]!; j < targetOffsets[user + 1]!; j++) {
      const end = historyEnd[j]!;
      if (end > seen) {
        const tauNew = eventTime[e0 + end - 1]!;
        advance(e0, seen, end, tau, tauNew, false);
        seen = end;
        tau = tauNew;
      }
      if (seen === 0) continue; // no behaviour yet: zeros, like an empty history
      setPhi(j, tau);
      for (let h = 0; h < H; h++) {
        const g = (h / hpg) | 0;
        const hh = h - g * hpg;
        const M = logits(j, h, g);
        maxU[j * H + h] = M;
        let D = 0;
        const oo = j * vw + h * dh;
        for (let p = 0; p < nPresent; p++) {
          const idx = present[p]!;
          if (((idx / K) | 0) !== g) continue;
          const e = Math.exp(uBuf[idx - g * K]! - M);
          for (let r = 0; r < R; r++) {
            const s = idx * R + r;
            const f = e * phi[j * R + r]!;
            D += f * N[s]!;
            const so = s * gw + hh * dh;
            for (let x = 0; x < dh; x++) out64[oo + x] += f * S[so + x]!;
          }
        }
        den[j * H + h] = D;
        for (let x = 0; x < dh; x++) {
          out64[oo + x] /= D;
          out[oo + x] = out64[oo + x]!;
        }
      }
    }
  }

  return {
    out,
    backward: (gr) => {
      const dq = new Float64Array(T * vw);
      const dk = new Float64Array(U * kw);
      const dv = new Float64Array(U * vw);
      const db = new Float64Array(U);
      const dLambda = new Float64Array(R);
      const dLogBeta = new Float64Array(R);
      const dPhi = new Float64Array(R);
      const gS = new Float64Array(R);
      const go = new Float64Array(T * H);
      const AS = new Float64Array(GK * R * gw);
      const AN = new Float64Array(GK * R);
      const AQ = new Float64Array(GK * R * hpg * dh * dh);
      const AP = new Float64Array(GK * R * gw);
      const dd = dh * dh;
      for (let user = 0; user < layout.numUsers; user++) {
        const e0 = eventOffsets[user]!;
        const t0 = targetOffsets[user]!;
        const t1 = targetOffsets[user + 1]!;
        userWeights(e0, eventOffsets[user + 1]!);
        resetUser();
        // Pass A: forward re-scan; per target dq, dφ → (dβ, dλ), and dλ through the state (primes).
        let seen = 0;
        let tau = 0;
        for (let j = t0; j < t1; j++) {
          const end = historyEnd[j]!;
          if (end > seen) {
            const tauNew = eventTime[e0 + end - 1]!;
            advance(e0, seen, end, tau, tauNew, true);
            seen = end;
            tau = tauNew;
          }
          if (seen === 0) continue;
          const delta = targetTime[j]! - tau;
          dPhi.fill(0);
          for (let h = 0; h < H; h++) {
            const g = (h / hpg) | 0;
            const hh = h - g * hpg;
            const go_ = (() => {
              let s = 0;
              for (let x = 0; x < dh; x++) s += gr[j * vw + h * dh + x]! * out64[j * vw + h * dh + x]!;
              return s;
            })();
            go[j * H + h] = go_;
            logits(j, h, g);
            const M = maxU[j * H + h]!;
            const D = den[j * H + h]!;
            const go_off = j * vw + h * dh;
            for (let p = 0; p < nPresent; p++) {
              const idx = present[p]!;
              if (((idx / K) | 0) !== g) continue;
              const e = Math.exp(uBuf[idx - g * K]! - M) / D;
              let gs = 0;
              let n = 0;
              for (let r = 0; r < R; r++) {
                const s = idx * R + r;
                const so = s * gw + hh * dh;
                let dot = 0;
                let dotP = 0;
                for (let x = 0; x < dh; x++) {
                  dot += gr[go_off + x]! * S[so + x]!;
                  dotP += gr[go_off + x]! * Sp[so + x]!;
                }
                gS[r] = dot;
                const f = phi[j * R + r]!;
                gs += f * dot;
                n += f * N[s]!;
                dPhi[r] += e * (dot - go_ * N[s]!);
                dLambda[r] += e * f * (go_ * Np[s]! - dotP);
              }
              const du = e * (gs - go_ * n) * scale;
              if (du === 0) continue;
              for (let x = 0; x < dh; x++) dq[go_off + x] += du * codeKey[idx * dh + x]!;
            }
          }
          for (let r = 0; r < R; r++) {
            const f = phi[j * R + r]!;
            dLogBeta[r] += dPhi[r]! * f;
            dLambda[r] -= delta * dPhi[r]! * f;
          }
        }
        // Pass B: reverse scan of the adjoint state; per behaviour dv, db, dk.
        for (let p = 0; p < nPresent; p++) {
          const idx = present[p]!;
          AN.fill(0, idx * R, (idx + 1) * R);
          AS.fill(0, idx * R * gw, (idx + 1) * R * gw);
          AP.fill(0, idx * R * gw, (idx + 1) * R * gw);
          AQ.fill(0, idx * R * hpg * dd, (idx + 1) * R * hpg * dd);
        }
        let tauA = Number.NaN;
        for (let j = t1 - 1; j >= t0; j--) {
          const end = historyEnd[j]!;
          if (end === 0) break;
          const tauJ = eventTime[e0 + end - 1]!;
          if (!Number.isNaN(tauA) && tauA !== tauJ) {
            for (let r = 0; r < R; r++) decay[r] = Math.exp(-lambda[r]! * (tauA - tauJ));
            for (let p = 0; p < nPresent; p++) {
              const idx = present[p]!;
              for (let r = 0; r < R; r++) {
                const s = idx * R + r;
                const f = decay[r]!;
                AN[s] = f * AN[s]!;
                for (let x = s * gw; x < (s + 1) * gw; x++) {
                  AS[x] = f * AS[x]!;
                  AP[x] = f * AP[x]!;
                }
                for (let x = s * hpg * dd; x < (s + 1) * hpg * dd; x++) AQ[x] = f * AQ[x]!;
              }
            }
          }
          tauA = tauJ;
          for (let h = 0; h < H; h++) {
            const g = (h / hpg) | 0;
            const hh = h - g * hpg;
            logits(j, h, g);
            const M = maxU[j * H + h]!;
            const D = den[j * H + h]!;
            const go_ = go[j * H + h]!;
            const qo = j * vw + h * dh;
            for (let p = 0; p < nPresent; p++) {
              const idx = present[p]!;
              if (((idx / K) | 0) !== g || firstSeen[idx]! >= end) continue;
              const e = Math.exp(uBuf[idx - g * K]! - M) / D;
              for (let r = 0; r < R; r++) {
                const a = e * phi[j * R + r]!;
                if (a === 0) continue;
                const s = idx * R + r;
                AN[s] -= a * go_;
                const so = s * gw + hh * dh;
                const qb = (s * hpg + hh) * dd;
                for (let x = 0; x < dh; x++) {
                  const gx = gr[qo + x]!;
                  const qx = q[qo + x]!;
                  AS[so + x] += a * gx;
                  AP[so + x] += a * go_ * qx;
                  const aq = a * qx;
                  for (let y = 0; y < dh; y++) AQ[qb + x * dh + y] += aq * gr[qo + y]!;
                }
              }
            }
          }
          const start = j > t0 ? historyEnd[j - 1]! : 0;
          for (let i = start; i < end; i++) {
            const ev = e0 + i;
            const u = eventRow[ev]!;
            const age = tauJ - eventTime[ev]!;
            const w = weightOf[ev]!;
            for (let r = 0; r < R; r++) term[r] = w * Math.exp(-lambda[r]! * age);
            let dbi = 0;
            for (let g = 0; g < G; g++) {
              const idx = g * K + codes[u * G + g]!;
              const vb = u * vw + g * gw;
              const kb = u * kw + g * dh;
              for (let r = 0; r < R; r++) {
                const a = term[r]!;
                if (a === 0) continue;
                const s = idx * R + r;
                let dotv = 0;
                const so = s * gw;
                for (let x = 0; x < gw; x++) {
                  dv[vb + x] += a * AS[so + x]!;
                  dotv += AS[so + x]! * v[vb + x]!;
                }
                dbi += a * (dotv + AN[s]!);
                const as = a * scale;
                for (let hh = 0; hh < hpg; hh++) {
                  const qb = (s * hpg + hh) * dd;
                  const vh = vb + hh * dh;
                  const ph = so + hh * dh;
                  for (let x = 0; x < dh; x++) {
                    let m = 0;
                    for (let y = 0; y < dh; y++) m += AQ[qb + x * dh + y]! * v[vh + y]!;
                    dk[kb + x] += as * (m - AP[ph + x]!);
                  }
                }
              }
            }
            db[u] += dbi;
          }
        }
      }
      const dLogRate = new Float32Array(R);
      for (let r = 0; r < R; r++) dLogRate[r] = dLambda[r]! * lambda[r]!;
      return {
        dq: Float32Array.from(dq),
        dk: Float32Array.from(dk),
        dv: Float32Array.from(dv),
        db: Float32Array.from(db),
        dLogRate,
        dLogBeta: Float32Array.from(dLogBeta),
      };
    },
  };
}
