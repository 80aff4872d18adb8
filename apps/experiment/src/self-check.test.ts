import { selfCheck } from './self-check.js';

describe('selfCheck', () => {
  it('passes on this machine and reports both backends', async () => {
    const result = await selfCheck(20);
    expect(result.lines.join('\n')).toMatch(/cpu .*wasm /s);
    expect(result.ok).toBe(true);
  });
});
