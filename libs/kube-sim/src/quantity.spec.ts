import { formatBytes, formatMilli, InvalidQuantityError, isQuantity, toMilli, toValue } from './quantity';

describe('quantity', () => {
  it.each([
    ['100m', 100],
    ['1', 1000],
    ['1.5', 1500],
    ['0.1', 100],
    ['2e3', 2_000_000],
    ['1e-3', 1],
    ['250u', 1], // rounds up, as MilliValue()
    ['1k', 1_000_000],
    ['.5', 500],
  ])('toMilli(%s) = %d', (q, milli) => {
    expect(toMilli(q)).toBe(milli);
  });

  it.each([
    ['1Gi', 1024 ** 3],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['128974848', 128974848],
    ['129e6', 129_000_000],
    ['129M', 129_000_000],
    ['123Mi', 123 * 1024 ** 2],
    ['4026532Ki', 4026532 * 1024],
    ['100m', 1], // rounds up, as Value()
    ['110', 110],
  ])('toValue(%s) = %d', (q, value) => {
    expect(toValue(q)).toBe(value);
  });

  it.each(['', 'abc', '1.2.3', '1Zi', '--1', '1 Gi', 'Gi', '1e'])('rejects %j', (q) => {
    expect(() => toValue(q)).toThrow(InvalidQuantityError);
    expect(isQuantity(q)).toBe(false);
  });

  it('formats millicores and bytes as the API server prints them', () => {
    expect(formatMilli(2000)).toBe('2');
    expect(formatMilli(1930)).toBe('1930m');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2Gi');
    expect(formatBytes(3_043_328 * 1024)).toBe('2972Mi');
    expect(formatBytes(1536)).toBe('1536');
    expect(formatBytes(1000)).toBe('1000');
  });
});
