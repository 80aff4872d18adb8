import { checkKnownKeys } from './options.js';
import { VqlRuntimeError } from './errors.js';

describe('checkKnownKeys', () => {
  it('passes known keys and absent options', () => {
    expect(() => checkKnownKeys('f: options', { a: 1, b: undefined }, ['a', 'b'])).not.toThrow();
    expect(() => checkKnownKeys('f: options', undefined, ['a'])).not.toThrow();
  });

  it('names each unknown key, the closest allowed one and the allowed list', () => {
    expect(() => checkKnownKeys('appendEvents: options', { futureEvent: 'x' }, ['futureEvents', 'timeBounds'])).toThrow(
      'appendEvents: options: unknown option "futureEvent" (did you mean "futureEvents"?); allowed: futureEvents, timeBounds.',
    );
    expect(() => checkKnownKeys('g', { zzz: 1, negatives: 3 }, ['negativesPerPositive'])).toThrow(
      /unknown options "zzz", "negatives" \(did you mean "negativesPerPositive"\?\); allowed: negativesPerPositive\./,
    );
    expect(() => checkKnownKeys('g', { train: true }, ['mask', 'training'])).toThrow(/"train" \(did you mean "training"\?\)/);
    expect(() => checkKnownKeys('g', { fingerprint: 'x' }, ['expectedFingerprint'])).toThrow(/"fingerprint" \(did you mean "expectedFingerprint"\?\)/);
    expect(() => checkKnownKeys('g', { topK: 4 }, ['k', 'kernel'])).toThrow('g: unknown option "topK"; allowed: k, kernel.');
    expect(() => checkKnownKeys('g', { q: 1 }, [])).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
    expect(() => checkKnownKeys('g', { q: 1 }, [])).toThrow(VqlRuntimeError);
  });

  it('throws the caller’s error class', () => {
    class Mine extends Error {}
    expect(() => checkKnownKeys('g', { q: 1 }, ['p'], (m) => new Mine(m))).toThrow(Mine);
  });
});
