/**
 * Positions of the k largest `score(i)` for i in [0, n), written to `out` (any order), via a
 * size-k min-heap: O(n log k) and no allocation beyond `out`. Ties go to the larger index — the
 * newer behaviour, since histories run oldest → newest. Returns how many were written (min(k, n)).
 */
export function topKIndices(n: number, k: number, score: (i: number) => number, out: Int32Array, outOffset = 0): number {
  const m = Math.min(k, n);
  if (m <= 0) return 0;
  const heapIdx = new Int32Array(m);
  const heapVal = new Float64Array(m);
  // "a is worse than b": lower score, or equal score and older.
  const worse = (va: number, ia: number, vb: number, ib: number): boolean => va < vb || (va === vb && ia < ib);
  const siftDown = (start: number, size: number): void => {
    let p = start;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= size) return;
      let c = l;
      if (l + 1 < size && worse(heapVal[l + 1]!, heapIdx[l + 1]!, heapVal[l]!, heapIdx[l]!)) c = l + 1;
      if (!worse(heapVal[c]!, heapIdx[c]!, heapVal[p]!, heapIdx[p]!)) return;
      const ti = heapIdx[p]!;
      const tv = heapVal[p]!;
      heapIdx[p] = heapIdx[c]!;
      heapVal[p] = heapVal[c]!;
      heapIdx[c] = ti;
      heapVal[c] = tv;
      p = c;
    }
  };
  for (let i = 0; i < m; i++) {
    heapIdx[i] = i;
    const v = score(i);
    heapVal[i] = Number.isNaN(v) ? -Infinity : v;
  }
  for (let p = (m >> 1) - 1; p >= 0; p--) siftDown(p, m);
  for (let i = m; i < n; i++) {
    const raw = score(i);
    const v = Number.isNaN(raw) ? -Infinity : raw;
    if (worse(heapVal[0]!, heapIdx[0]!, v, i)) {
      heapIdx[0] = i;
      heapVal[0] = v;
      siftDown(0, m);
    }
  }
  out.set(heapIdx, outOffset);
  return m;
}
