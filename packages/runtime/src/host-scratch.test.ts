import { initBackend } from './backend.js';
import { heapView, hostF32, scratchF32, scratchF64, tensorCopyOf, tensorFromHost, withHostScratch } from './host-scratch.js';
import { tf } from './tf.js';

afterAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe.each(['wasm', 'cpu'] as const)('host scratch on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('hands out zeroed buffers and reuses them in the next scope, not within one', () => {
    const first = withHostScratch(() => {
      const a = scratchF32(1000);
      const b = scratchF32(1000);
      expect(a.buffer).not.toBe(b.buffer);
      a.fill(7);
      return a.buffer;
    });
    withHostScratch(() => {
      const again = scratchF32(800);
      expect(again.buffer).toBe(first); // the smallest free buffer that fits
      expect(Array.from(again).every((x) => x === 0)).toBe(true);
      expect(scratchF64(10).length).toBe(10);
    });
    // A request no free buffer holds replaces the largest one: the pool does not grow per size.
    const big = withHostScratch(() => scratchF32(5000).buffer);
    expect(withHostScratch(() => [scratchF32(10).buffer, scratchF32(10).buffer])).toEqual([first, big]);
    // Outside a scope every call allocates.
    expect(scratchF32(1000).buffer).not.toBe(scratchF32(1000).buffer);
  });

  it('tensors made from a pooled buffer keep their values when the buffer is reused', () => {
    const t = withHostScratch(() => {
      const a = scratchF32(4);
      a.set([1, 2, 3, 4]);
      const out = tensorFromHost(a, [2, 2]);
      a.fill(-1);
      return out;
    });
    withHostScratch(() => scratchF32(4).fill(9));
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    const shared = Float32Array.of(5, 6);
    const copy = tensorCopyOf(shared, [2]);
    shared.fill(0);
    expect(Array.from(copy.dataSync())).toEqual([5, 6]);
    tf.dispose([t, copy]);
  });

  it('hostF32 copies a tensor out (a wasm heap view only on wasm)', () => {
    const t = tf.tensor1d([1.5, -2, 3]);
    expect(heapView(t) === null).toBe(backend !== 'wasm');
    withHostScratch(() => expect(Array.from(hostF32(t))).toEqual([1.5, -2, 3]));
    t.dispose();
    expect(() => heapView(t)).toThrow(/disposed/);
  });
});
