import type { CtrModel } from '@vql/model';

/** A long history's embeddings (fused or item-only rows), embedded 10⁵ behaviours at a time. */
export function embedInChunks(model: CtrModel, items: Int32Array, part: 'fused' | 'item' = 'fused'): Float32Array {
  const parts: Float32Array[] = [];
  for (let a = 0; a < items.length; a += 100_000) parts.push(model.embedBehaviours(items.subarray(a, a + 100_000), {})[part]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
