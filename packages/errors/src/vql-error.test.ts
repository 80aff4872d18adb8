import { VqlError, isVqlError } from './vql-error.js';

type ShopCode = 'OUT_OF_STOCK' | 'BAD_SKU';

class ShopError extends VqlError<ShopCode> {
  constructor(code: ShopCode, message: string, options?: { cause?: unknown }) {
    super('@vql/shop', code, message, options);
    this.name = 'ShopError';
  }
}

describe('VqlError', () => {
  it('carries its code, source, name, message and cause', () => {
    const cause = new Error('disk full');
    const e = new ShopError('OUT_OF_STOCK', 'sku 7: none left', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(VqlError);
    expect([e.code, e.source, e.name, e.message]).toEqual(['OUT_OF_STOCK', '@vql/shop', 'ShopError', 'sku 7: none left']);
    expect(e.cause).toBe(cause);
    expect('cause' in new ShopError('BAD_SKU', 'x')).toBe(false);
  });

  it('isVqlError recognises any VqlError and filters by code', () => {
    const e = new ShopError('BAD_SKU', 'sku "x" is not a number');
    expect(isVqlError(e)).toBe(true);
    expect(isVqlError(e, 'BAD_SKU')).toBe(true);
    expect(isVqlError(e, 'OUT_OF_STOCK')).toBe(false);
    expect(isVqlError(e, ['OUT_OF_STOCK', 'BAD_SKU'])).toBe(true);
    expect(isVqlError(new Error('plain'))).toBe(false);
    expect(isVqlError({ code: 'BAD_SKU', message: 'looks like one' })).toBe(false);
    expect(isVqlError(null)).toBe(false);
    expect(isVqlError('BAD_SKU')).toBe(false);
  });

  it('isVqlError recognises an error from another copy of the class (marker, not instanceof)', () => {
    const other = Object.assign(new Error('from a worker bundle'), { code: 'BAD_SKU', [Symbol.for('@vql/errors.VqlError')]: true });
    expect(other instanceof VqlError).toBe(false);
    expect(isVqlError(other, 'BAD_SKU')).toBe(true);
  });
});
