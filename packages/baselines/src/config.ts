import { VqlBaselinesError } from './errors.js';

// Validation of the JSON configs every baseline is built from. Messages name the module and the
// option, so a typo in an experiment file fails at build time, not deep inside tfjs.

export function checkKnown(where: string, config: Readonly<Record<string, unknown>>, known: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (key !== 'kind' && !known.includes(key)) {
      throw new VqlBaselinesError('INVALID_CONFIG', `${where}: unknown option "${key}"; known: ${[...known].sort().join(', ')}.`);
    }
  }
}

export function intOption(where: string, name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new VqlBaselinesError('INVALID_CONFIG', `${where}: ${name} must be an integer, got ${JSON.stringify(v)}.`);
  }
  if (v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
    throw new VqlBaselinesError('OUT_OF_RANGE', `${where}: ${name} must be ${range}, got ${v}.`);
  }
  return v;
}

export function numberOption(where: string, name: string, value: unknown, fallback: number, min: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new VqlBaselinesError('INVALID_CONFIG', `${where}: ${name} must be a finite number ≥ ${min}, got ${JSON.stringify(v)}.`);
  }
  return v;
}

export function boolOption(where: string, name: string, value: unknown, fallback: boolean): boolean {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'boolean') throw new VqlBaselinesError('INVALID_CONFIG', `${where}: ${name} must be a boolean, got ${JSON.stringify(v)}.`);
  return v;
}

export function enumOption<T extends string>(where: string, name: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new VqlBaselinesError('INVALID_CONFIG', `${where}: ${name} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}.`);
  }
  return v as T;
}

export function stringOption(where: string, name: string, value: unknown, fallback: string): string {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' || v.length === 0) {
    throw new VqlBaselinesError('INVALID_CONFIG', `${where}: ${name} must be a non-empty string, got ${JSON.stringify(v)}.`);
  }
  return v;
}
