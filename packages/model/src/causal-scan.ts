import { scratchF32, scratchF64 } from '@vql/runtime';
import type { AttentionShape } from './attention-core.js';
import type { CausalLayout } from './interest-module.js';

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

/** Float64 gradient sums of one scan (or one thread's share of the users). */
export interface ScanGrads {
  dq: Float64Array; // [T·H·d_h]
  dk: Float64Array; // [U·G·d_h]
  dv: Float64Array; // [U·H·d_h]
  db: Float64Array; // [U]
  dLambda: Float64Array; // [R] with respect to λ_r (per second)
  dLogBeta: Float64Array; // [R]
}

export interface CausalCacheGrads {
  dq: Float32Array; // [T·H·d_h]
  dk: Float32Array; // [U·G·d_h]
  dv: Float32Array; // [U·H·d_h]
  db: Float32Array; // [U]
  dLogRate: Float32Array; // [R]
  dLogBeta: Float32Array; // [R]
}

/**
 * The scans as small methods over flat typed arrays (hot loops read their fields into locals
 * first): V8 optimises small functions far better than one large closure.
 */
export class CausalScan {
  // Shapes.
  private readonly H: number;
  private readonly G: number;
  private readonly dh: number;
  private readonly hpg: number; // heads per group
  private readonly kw: number; // G·d_h
  private readonly vw: number; // H·d_h
  private readonly gw: number; // value width of one group's heads
  private readonly R: number;
  private readonly K: number;
  private readonly dd: number; // d_h²
  private readonly T: number;
  private readonly U: number;
  private readonly scale: number;
  private readonly lambda: Float64Array; // [R] per second
  private readonly logB: Float64Array; // [R]
  private readonly codeKey: Float64Array; // [G·K·d_h]
  // Forward state of the current user: [(g·K + c)·R + r] and [((g·K + c)·R + r)·gw + x]; primes are time-weighted.
  private readonly N: Float64Array;
  private readonly S: Float64Array;
  private readonly Np: Float64Array;
  private readonly Sp: Float64Array;
  /** Relative event index where code (g, c) first occurs in the current user, −1 = not yet. */
  private readonly firstSeen: Int32Array; // [G·K]
  /** Events of code (g, c) in the current window. */
  private readonly count: Int32Array; // [G·K]
  /** Codes seen so far in the current user, per group: [g·K + n] for n < nPresent[g]. */
  private readonly present: Int32Array;
  private readonly nPresent: Int32Array; // [G]
  private readonly weightOf: Float64Array; // [E] w_i = e^{b_i − max_user b}
  private readonly decay: Float64Array; // [R]
  private readonly term: Float64Array; // [R]
  private readonly eBuf: Float64Array; // [hpg·K] e^{u − M}/D per head of a group and code
  private readonly local: Float64Array; // [hpg·(2·d_h + d_h²)] one target's local adjoint (pass B)
  // Per target, kept from the forward pass.
  private readonly phi: Float64Array; // [T·R] normalised φ_r
  private readonly maxU: Float64Array; // [T·H]
  private readonly den: Float64Array; // [T·H]
  private readonly out64: Float64Array; // [T·vw]

  constructor(
    private readonly q: Float32Array,
    k: Float32Array,
    private readonly v: Float32Array,
    private readonly bias: Float32Array | null,
    logRate: Float64Array | null,
    logBeta: Float64Array | null,
    U: number,
    private readonly o: CausalCacheOptions,
  ) {
    const { heads: H, groups: G, headDim: dh } = o.shape;
    this.H = H;
    this.G = G;
    this.dh = dh;
    this.hpg = H / G;
    this.kw = G * dh;
    this.vw = H * dh;
    this.gw = this.hpg * dh;
    this.dd = dh * dh;
    this.scale = o.scale;
    this.U = U;
    this.T = o.layout.targetTime.length;
    const R = logRate === null ? 1 : logRate.length;
    this.R = R;
    // Rounded like tfjs's exp(logRate)·unit (and the per-position kernel op), so both paths see one λ.
    this.lambda = new Float64Array(R);
    this.logB = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      this.lambda[r] = logRate === null ? 0 : Math.fround(Math.fround(Math.exp(logRate[r]!)) * o.kernelUnit);
      this.logB[r] = logBeta === null ? 0 : logBeta[r]!;
    }
    const codes = o.codes;
    let K = 1;
    for (let i = 0; i < U * G; i++) if (codes[i]! + 1 > K) K = codes[i]! + 1;
    this.K = K;
    const GK = G * K;
    // Key of code c of group g, read from the first row that uses it (straight-through keys equal their code).
    this.codeKey = new Float64Array(GK * dh);
    const seen = new Uint8Array(GK);
    for (const u of o.layout.eventRow) {
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        if (seen[idx] === 1) continue;
        seen[idx] = 1;
        for (let c = 0; c < dh; c++) this.codeKey[idx * dh + c] = k[u * this.kw + g * dh + c]!;
      }
    }
    this.N = new Float64Array(GK * R);
    this.Np = new Float64Array(GK * R);
    this.S = new Float64Array(GK * R * this.gw);
    this.Sp = new Float64Array(GK * R * this.gw);
    this.firstSeen = new Int32Array(GK).fill(-1);
    this.count = new Int32Array(GK);
    this.present = new Int32Array(GK);
    this.nPresent = new Int32Array(G);
    // Per-event and per-target buffers come from the step's reused host buffers (host-scratch.ts).
    this.weightOf = scratchF64(o.layout.eventRow.length);
    this.decay = new Float64Array(R);
    this.term = new Float64Array(R);
    this.eBuf = new Float64Array(this.hpg * K);
    this.local = new Float64Array(this.hpg * (2 * dh + this.dd));
    this.phi = scratchF64(this.T * R);
    this.maxU = scratchF64(this.T * H);
    this.den = scratchF64(this.T * H);
    this.out64 = scratchF64(this.T * this.vw);
  }

  private resetUser(): void {
    const { R, gw, K, G } = this;
    for (let g = 0; g < G; g++) {
      for (let n = 0; n < this.nPresent[g]!; n++) {
        const idx = g * K + this.present[g * K + n]!;
        this.firstSeen[idx] = -1;
        this.count[idx] = 0;
        this.N.fill(0, idx * R, (idx + 1) * R);
        this.Np.fill(0, idx * R, (idx + 1) * R);
        this.S.fill(0, idx * R * gw, (idx + 1) * R * gw);
        this.Sp.fill(0, idx * R * gw, (idx + 1) * R * gw);
      }
      this.nPresent[g] = 0;
    }
  }

  private userWeights(e0: number, e1: number): void {
    const { bias, weightOf } = this;
    const rows = this.o.layout.eventRow;
    if (bias === null) {
      weightOf.fill(1, e0, e1);
      return;
    }
    let bmax = -Infinity;
    for (let i = e0; i < e1; i++) bmax = Math.max(bmax, bias[rows[i]!]!);
    for (let i = e0; i < e1; i++) weightOf[i] = Math.exp(bias[rows[i]!]! - bmax);
  }

  /** Multiplies the state by e^{−λ_r·dT} (primes: age grows by dT too). */
  private decayState(dT: number, primes: boolean): void {
    const { R, gw, K, G, N, S, Np, Sp, decay, lambda, present, nPresent } = this;
    for (let r = 0; r < R; r++) decay[r] = Math.exp(-lambda[r]! * dT);
    for (let g = 0; g < G; g++) {
      const np = nPresent[g]!;
      for (let n = 0; n < np; n++) {
        const idx = g * K + present[g * K + n]!;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const f = decay[r]!;
          const so = s * gw;
          if (primes) {
            Np[s] = f * (Np[s]! + dT * N[s]!);
            for (let x = 0; x < gw; x++) Sp[so + x] = f * (Sp[so + x]! + dT * S[so + x]!);
          }
          N[s] = f * N[s]!;
          for (let x = 0; x < gw; x++) S[so + x] = f * S[so + x]!;
        }
      }
    }
  }

  /** Adds events [from, to) of the user starting at e0, anchored at tau. */
  private addEvents(e0: number, from: number, to: number, tau: number, primes: boolean): void {
    const { R, gw, K, G, vw, N, S, Np, Sp, term, lambda, v, weightOf, firstSeen, count, present, nPresent } = this;
    const { eventRow, eventTime } = this.o.layout;
    const codes = this.o.codes;
    for (let i = from; i < to; i++) {
      const ev = e0 + i;
      const u = eventRow[ev]!;
      const age = tau - eventTime[ev]!;
      const w = weightOf[ev]!;
      for (let r = 0; r < R; r++) term[r] = w * Math.exp(-lambda[r]! * age);
      for (let g = 0; g < G; g++) {
        const c = codes[u * G + g]!;
        const idx = g * K + c;
        if (firstSeen[idx] === -1) {
          firstSeen[idx] = i;
          present[g * K + nPresent[g]!] = c;
          nPresent[g]++;
        }
        count[idx]++;
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
  }

  /** Subtracts events [from, to) (leaving the window) at anchor tau; a code left with no event is reset to exact zeros. */
  private removeEvents(e0: number, from: number, to: number, tau: number, primes: boolean): void {
    const { R, gw, K, G, vw, N, S, Np, Sp, term, lambda, v, weightOf, count } = this;
    const { eventRow, eventTime } = this.o.layout;
    const codes = this.o.codes;
    for (let i = from; i < to; i++) {
      const ev = e0 + i;
      const u = eventRow[ev]!;
      const age = tau - eventTime[ev]!;
      const w = weightOf[ev]!;
      for (let r = 0; r < R; r++) term[r] = w * Math.exp(-lambda[r]! * age);
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        if (--count[idx] === 0) {
          N.fill(0, idx * R, (idx + 1) * R);
          Np.fill(0, idx * R, (idx + 1) * R);
          S.fill(0, idx * R * gw, (idx + 1) * R * gw);
          Sp.fill(0, idx * R * gw, (idx + 1) * R * gw);
          continue;
        }
        const vb = u * vw + g * gw;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const a = term[r]!;
          N[s] -= a;
          const so = s * gw;
          for (let x = 0; x < gw; x++) S[so + x] -= a * v[vb + x]!;
          if (primes) {
            const ap = a * age;
            Np[s] -= ap;
            for (let x = 0; x < gw; x++) Sp[so + x] -= ap * v[vb + x]!;
          }
        }
      }
    }
  }

  /** Normalised φ of target j at anchor tau, into phi[j·R ...]; returns δ = t_j − τ. */
  private setPhi(j: number, tau: number): number {
    const { R, lambda, logB, phi } = this;
    const delta = this.o.layout.targetTime[j]! - tau;
    let m = -Infinity;
    for (let r = 0; r < R; r++) m = Math.max(m, logB[r]! - lambda[r]! * delta);
    for (let r = 0; r < R; r++) phi[j * R + r] = Math.exp(logB[r]! - lambda[r]! * delta - m);
    return delta;
  }

  /**
   * e^{u_c − M}/D for the heads of group g at target j over the group's present codes, into
   * eBuf[hh·K + c]. `store` (forward): M and D are computed and kept; else the kept ones are used.
   */
  private codeWeights(j: number, g: number, store: boolean): void {
    const { hpg, dh, vw, K, R, H, q, codeKey, eBuf, present, count, N, phi, scale } = this;
    const np = this.nPresent[g]!;
    for (let hh = 0; hh < hpg; hh++) {
      const h = g * hpg + hh;
      const qo = j * vw + h * dh;
      const eo = hh * K;
      let M = -Infinity;
      for (let n = 0; n < np; n++) {
        const c = present[g * K + n]!;
        if (count[g * K + c] === 0) {
          eBuf[eo + c] = -Infinity; // left the window: weight 0
          continue;
        }
        const kb = (g * K + c) * dh;
        let dot = 0;
        for (let x = 0; x < dh; x++) dot += q[qo + x]! * codeKey[kb + x]!;
        const u = dot * scale;
        eBuf[eo + c] = u;
        if (u > M) M = u;
      }
      if (store) this.maxU[j * H + h] = M;
      else M = this.maxU[j * H + h]!;
      let D = 0;
      for (let n = 0; n < np; n++) {
        const c = present[g * K + n]!;
        const e = Math.exp(eBuf[eo + c]! - M);
        eBuf[eo + c] = e;
        if (store) {
          const sb = (g * K + c) * R;
          let nc = 0;
          for (let r = 0; r < R; r++) nc += phi[j * R + r]! * N[sb + r]!;
          D += e * nc;
        }
      }
      if (store) this.den[j * H + h] = D;
      else D = this.den[j * H + h]!;
      for (let n = 0; n < np; n++) eBuf[eo + present[g * K + n]!]! /= D;
    }
  }

  /** o^h = Σ_c e_c Σ_r φ_r S[c,r] for the heads of group g at target j. */
  private readout(j: number, g: number): void {
    const { hpg, dh, vw, K, R, gw, S, phi, eBuf, present, out64 } = this;
    const np = this.nPresent[g]!;
    for (let hh = 0; hh < hpg; hh++) {
      const oo = j * vw + (g * hpg + hh) * dh;
      for (let n = 0; n < np; n++) {
        const c = present[g * K + n]!;
        const e = eBuf[hh * K + c]!;
        for (let r = 0; r < R; r++) {
          const f = e * phi[j * R + r]!;
          const so = ((g * K + c) * R + r) * gw + hh * dh;
          for (let x = 0; x < dh; x++) out64[oo + x] += f * S[so + x]!;
        }
      }
    }
  }

  /** Forward pass over users [u0, u1) (default all); returns o for every target (zeros outside the range). */
  /**
   * Moves the state of the user at e0 to target j: decay to the newest event before it, add the
   * events since the previous target, subtract those that left its window. False when the window
   * is empty.
   */
  private advanceTo(e0: number, j: number, scan: { seen: number; gone: number; tau: number }, primes: boolean): boolean {
    const { eventTime, historyEnd, historyStart } = this.o.layout;
    const end = historyEnd[j]!;
    if (end > scan.seen) {
      const tauNew = eventTime[e0 + end - 1]!;
      if (scan.seen > scan.gone && tauNew !== scan.tau) this.decayState(tauNew - scan.tau, primes);
      this.addEvents(e0, scan.seen, end, tauNew, primes);
      scan.seen = end;
      scan.tau = tauNew;
    }
    const start = historyStart === undefined ? 0 : historyStart[j]!;
    if (start > scan.gone) {
      this.removeEvents(e0, scan.gone, start, scan.tau, primes);
      scan.gone = start;
    }
    return scan.seen > scan.gone;
  }

  forward(u0 = 0, u1 = this.o.layout.numUsers): Float64Array {
    const { G } = this;
    const { eventOffsets, targetOffsets } = this.o.layout;
    for (let user = u0; user < u1; user++) {
      const e0 = eventOffsets[user]!;
      this.userWeights(e0, eventOffsets[user + 1]!);
      this.resetUser();
      const scan = { seen: 0, gone: 0, tau: 0 };
      for (let j = targetOffsets[user]!; j < targetOffsets[user + 1]!; j++) {
        if (!this.advanceTo(e0, j, scan, false)) continue; // empty window: zeros, like an empty history
        this.setPhi(j, scan.tau);
        for (let g = 0; g < G; g++) {
          this.codeWeights(j, g, true);
          this.readout(j, g);
        }
      }
    }
    return this.out64;
  }

  /** Float64 gradient buffers of the right sizes, zeroed. */
  newGrads(): ScanGrads {
    return {
      dq: scratchF64(this.T * this.vw),
      dk: scratchF64(this.U * this.kw),
      dv: scratchF64(this.U * this.vw),
      db: scratchF64(this.U),
      dLambda: new Float64Array(this.R),
      dLogBeta: new Float64Array(this.R),
    };
  }

  /** Backward pass over users [u0, u1) (after `forward` over them): adds into `grads`. */
  backward(gr: Float32Array, grads: ScanGrads, u0 = 0, u1 = this.o.layout.numUsers): void {
    const { G, R, gw, K, hpg, dd } = this;
    const GK = G * K;
    const { eventOffsets, eventTime, targetOffsets, historyEnd, historyStart } = this.o.layout;
    const acc = {
      ...grads,
      go: scratchF64(this.T * this.H),
      AS: scratchF64(GK * R * gw),
      AN: scratchF64(GK * R),
      AQ: scratchF64(GK * R * hpg * dd),
      AP: scratchF64(GK * R * gw),
      // The adjoint of (code, basis) is sig·(AN, AS, AP, AQ): re-anchoring scales sig alone.
      sig: scratchF64(GK * R).fill(1),
    };
    const dPhi = new Float64Array(R);
    const eStore = scratchF64(this.T * this.H * K); // e^{u−M}/D per target, head and code (0 = not in the window)
    for (let user = u0; user < u1; user++) {
      const e0 = eventOffsets[user]!;
      const t0 = targetOffsets[user]!;
      const t1 = targetOffsets[user + 1]!;
      this.userWeights(e0, eventOffsets[user + 1]!);
      this.resetUser();
      // Pass A: forward re-scan; per target dq, dφ → (dβ, dλ), and dλ through the state (primes).
      const scan = { seen: 0, gone: 0, tau: 0 };
      for (let j = t0; j < t1; j++) {
        if (!this.advanceTo(e0, j, scan, true)) continue;
        const delta = this.o.layout.targetTime[j]! - scan.tau;
        dPhi.fill(0);
        for (let g = 0; g < G; g++) {
          this.codeWeights(j, g, false);
          // Kept for pass B, where the window of j is no longer the state's.
          for (let hh = 0; hh < hpg; hh++) eStore.set(this.eBuf.subarray(hh * K, (hh + 1) * K), (j * this.H + g * hpg + hh) * K);
          this.targetGrads(j, g, gr, acc, dPhi);
        }
        for (let r = 0; r < R; r++) {
          const f = this.phi[j * R + r]!;
          acc.dLogBeta[r] += dPhi[r]! * f;
          acc.dLambda[r] -= delta * dPhi[r]! * f;
        }
      }
      // Pass B: reverse scan of the adjoint state over the targets whose window holds the
      // behaviour at hand ("live": j..liveHi); per behaviour dv, db, dk.
      this.clearAdjoint(acc);
      const startOf = (t: number): number => (historyStart === undefined ? 0 : historyStart[t]!);
      const decay = this.decay;
      const scale = new Float64Array(R);
      let tauA = 0;
      let liveHi = -1;
      for (let j = t1 - 1; j >= t0; j--) {
        const end = historyEnd[j]!;
        if (end === 0) break;
        const tauJ = eventTime[e0 + end - 1]!;
        const live = liveHi >= j + 1;
        // Re-anchor at τ_j (factor ≤ 1) and add target j (when its window holds anything).
        for (let r = 0; r < R; r++) decay[r] = live ? Math.exp(-this.lambda[r]! * (tauA - tauJ)) : 0;
        scale.fill(end > startOf(j) ? 1 : 0);
        for (let g = 0; g < G; g++) this.adjointTarget(j, g, decay, scale, gr, acc, eStore);
        tauA = tauJ;
        if (end > startOf(j) && liveHi < j) liveHi = j;
        const segStart = j > t0 ? historyEnd[j - 1]! : 0;
        let i = end - 1;
        while (i >= segStart) {
          // Targets whose window starts after behaviour i leave (newest first: starts are sorted).
          while (liveHi >= j && startOf(liveHi) > i) {
            decay.fill(1);
            for (let r = 0; r < R; r++) scale[r] = -Math.exp(-this.lambda[r]! * (eventTime[e0 + historyEnd[liveHi]! - 1]! - tauJ));
            for (let g = 0; g < G; g++) this.adjointTarget(liveHi, g, decay, scale, gr, acc, eStore);
            liveHi--;
          }
          if (liveHi < j) {
            this.clearAdjoint(acc); // nothing live: drop the rounding residue of the subtractions
            break;
          }
          const lo = Math.max(segStart, startOf(liveHi));
          this.eventGrads(e0, lo, i + 1, tauJ, acc);
          i = lo - 1;
        }
      }
    }
  }

  /** The float32 gradients of the op from summed float64 buffers (dλ → d logRate). */
  finish(grads: ScanGrads): CausalCacheGrads {
    const dLogRate = new Float32Array(this.R);
    for (let r = 0; r < this.R; r++) dLogRate[r] = grads.dLambda[r]! * this.lambda[r]!;
    const f32 = (x: Float64Array): Float32Array => {
      const out = scratchF32(x.length);
      out.set(x);
      return out;
    };
    return {
      dq: f32(grads.dq),
      dk: f32(grads.dk),
      dv: f32(grads.dv),
      db: f32(grads.db),
      dLogRate,
      dLogBeta: Float32Array.from(grads.dLogBeta),
    };
  }

  /** Relative cost of each user's scan (behaviours plus targets weighted by their code work), for splitting users across threads. */
  userCosts(): Float64Array {
    const { numUsers, eventOffsets, targetOffsets } = this.o.layout;
    // A behaviour costs ~G·R·(H/G)·d_h² in the reverse scan, a target ~2·K times that (every present code).
    const perTarget = 2 * this.K;
    const out = new Float64Array(numUsers);
    for (let u = 0; u < numUsers; u++) out[u] = eventOffsets[u + 1]! - eventOffsets[u]! + perTarget * (targetOffsets[u + 1]! - targetOffsets[u]!);
    return out;
  }

  /** Pass A at target j, group g: dq (through the code logits), dφ and dλ through the state. */
  private targetGrads(j: number, g: number, gr: Float32Array, acc: { dq: Float64Array; dLambda: Float64Array; go: Float64Array }, dPhi: Float64Array): void {
    const { hpg, dh, vw, K, R, gw, H, S, Sp, N, Np, phi, eBuf, present, out64, codeKey, scale } = this;
    const { dq, dLambda, go } = acc;
    const np = this.nPresent[g]!;
    for (let hh = 0; hh < hpg; hh++) {
      const h = g * hpg + hh;
      const ho = j * vw + h * dh;
      let gO = 0;
      for (let x = 0; x < dh; x++) gO += gr[ho + x]! * out64[ho + x]!;
      go[j * H + h] = gO;
      for (let n = 0; n < np; n++) {
        const c = present[g * K + n]!;
        const idx = g * K + c;
        const e = eBuf[hh * K + c]!;
        let gs = 0;
        let nc = 0;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const so = s * gw + hh * dh;
          let dot = 0;
          let dotP = 0;
          for (let x = 0; x < dh; x++) {
            dot += gr[ho + x]! * S[so + x]!;
            dotP += gr[ho + x]! * Sp[so + x]!;
          }
          const f = phi[j * R + r]!;
          gs += f * dot;
          nc += f * N[s]!;
          dPhi[r] += e * (dot - gO * N[s]!);
          dLambda[r] += e * f * (gO * Np[s]! - dotP);
        }
        const du = e * (gs - gO * nc) * scale;
        if (du === 0) continue;
        for (let x = 0; x < dh; x++) dq[ho + x] += du * codeKey[idx * dh + x]!;
      }
    }
  }

  /** Zeroes the adjoint state of every code of the current user. */
  private clearAdjoint(acc: { AS: Float64Array; AN: Float64Array; AQ: Float64Array; AP: Float64Array; sig: Float64Array }): void {
    const { G, K, R, gw, hpg, dd, present, nPresent } = this;
    const qw = hpg * dd;
    for (let g = 0; g < G; g++) {
      for (let n = 0; n < nPresent[g]!; n++) {
        const idx = g * K + present[g * K + n]!;
        acc.AN.fill(0, idx * R, (idx + 1) * R);
        acc.AS.fill(0, idx * R * gw, (idx + 1) * R * gw);
        acc.AP.fill(0, idx * R * gw, (idx + 1) * R * gw);
        acc.AQ.fill(0, idx * R * qw, (idx + 1) * R * qw);
        acc.sig.fill(1, idx * R, (idx + 1) * R);
      }
    }
  }

  /**
   * Pass B, group g: adjoint ← f_r·adjoint + c_r·(target j's local adjoint) for every code of the
   * user (f = `decay`, the re-anchoring factor ≤ 1, 0 = start afresh; c = `scale`: 1 to add j,
   * −e^{−λ(τ_j−τ)} to remove it). The factor f goes into sig (one multiply per code and basis,
   * not one per adjoint entry); the stored blocks are renormalised before sig could underflow.
   */
  private adjointTarget(
    j: number,
    g: number,
    decay: Float64Array,
    scale: Float64Array,
    gr: Float32Array,
    acc: { go: Float64Array; AS: Float64Array; AN: Float64Array; AQ: Float64Array; AP: Float64Array; sig: Float64Array },
    eStore: Float64Array,
  ): void {
    const { hpg, dh, vw, K, R, gw, H, dd, phi, present, q, local } = this;
    const { go, AS, AN, AQ, AP, sig } = acc;
    const np = this.nPresent[g]!;
    const qw = hpg * dd;
    // Target j's local adjoint per head, shared by every code: [gr | gO·q | q ⊗ gr] (one
    // multiply-add per adjoint entry and code below, from one contiguous float64 block).
    const lw = 2 * dh + dd;
    for (let hh = 0; hh < hpg; hh++) {
      const h = g * hpg + hh;
      const ho = j * vw + h * dh;
      const gO = go[j * H + h]!;
      const lo = hh * lw;
      for (let x = 0; x < dh; x++) {
        const qx = q[ho + x]!;
        local[lo + x] = gr[ho + x]!;
        local[lo + dh + x] = gO * qx;
        const row = lo + 2 * dh + x * dh;
        for (let y = 0; y < dh; y++) local[row + y] = qx * gr[ho + y]!;
      }
    }
    for (let n = 0; n < np; n++) {
      const c = present[g * K + n]!;
      const idx = g * K + c;
      for (let r = 0; r < R; r++) {
        const s = idx * R + r;
        const f = decay[r]!;
        let sg = sig[s]! * f;
        if (f === 0 || sg < 1e-150) {
          // Fold sig back into the stored entries (exact zeros when starting afresh).
          const k = f === 0 ? 0 : sg;
          AN[s] = k * AN[s]!;
          for (let x = s * gw; x < (s + 1) * gw; x++) {
            AS[x] = k * AS[x]!;
            AP[x] = k * AP[x]!;
          }
          for (let x = s * qw; x < (s + 1) * qw; x++) AQ[x] = k * AQ[x]!;
          sg = 1;
        }
        sig[s] = sg;
        const fr = (phi[j * R + r]! * scale[r]!) / sg;
        let an = AN[s]!;
        for (let hh = 0; hh < hpg; hh++) {
          const h = g * hpg + hh;
          const a = eStore[(j * H + h) * K + c]! * fr;
          if (a === 0) continue;
          an -= a * go[j * H + h]!;
          const sh = s * gw + hh * dh;
          const lo = hh * lw;
          for (let x = 0; x < dh; x++) {
            AS[sh + x] += a * local[lo + x]!;
            AP[sh + x] += a * local[lo + dh + x]!;
          }
          const qh = s * qw + hh * dd;
          const lq = lo + 2 * dh;
          for (let z = 0; z < dd; z++) AQ[qh + z] += a * local[lq + z]!;
        }
        AN[s] = an;
      }
    }
  }

  /** Pass B, events [start, end) of the user at e0 (anchored at tau): dv, db and the key gradient dk. */
  private eventGrads(e0: number, start: number, end: number, tau: number, acc: { dv: Float64Array; dk: Float64Array; db: Float64Array; AS: Float64Array; AN: Float64Array; AQ: Float64Array; AP: Float64Array; sig: Float64Array }): void {
    const { G, K, R, gw, hpg, dh, dd, vw, kw, v, term, lambda, weightOf, scale } = this;
    const { dv, dk, db, AS, AN, AQ, AP, sig } = acc;
    const { eventRow, eventTime } = this.o.layout;
    const codes = this.o.codes;
    const qw = hpg * dd;
    for (let i = start; i < end; i++) {
      const ev = e0 + i;
      const u = eventRow[ev]!;
      const age = tau - eventTime[ev]!;
      const w = weightOf[ev]!;
      for (let r = 0; r < R; r++) term[r] = w * Math.exp(-lambda[r]! * age);
      let dbi = 0;
      for (let g = 0; g < G; g++) {
        const idx = g * K + codes[u * G + g]!;
        const vb = u * vw + g * gw;
        const kb = u * kw + g * dh;
        for (let r = 0; r < R; r++) {
          const s = idx * R + r;
          const a = term[r]! * sig[s]!;
          if (a === 0) continue;
          const so = s * gw;
          let dotv = 0;
          for (let x = 0; x < gw; x++) {
            dv[vb + x] += a * AS[so + x]!;
            dotv += AS[so + x]! * v[vb + x]!;
          }
          dbi += a * (dotv + AN[s]!);
          const as = a * scale;
          const qb = s * qw;
          for (let hh = 0; hh < hpg; hh++) {
            const vh = vb + hh * dh;
            const ph = so + hh * dh;
            const qh = qb + hh * dd;
            for (let x = 0; x < dh; x++) {
              let m = 0;
              const row = qh + x * dh;
              for (let y = 0; y < dh; y++) m += AQ[row + y]! * v[vh + y]!;
              dk[kb + x] += as * (m - AP[ph + x]!);
            }
          }
        }
      }
      db[u] += dbi;
    }
  }
}
