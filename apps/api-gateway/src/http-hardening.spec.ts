import { MAX_BODY_DEPTH, nestedDeeperThan } from './http-hardening';

describe('nestedDeeperThan', () => {
  it('counts levels of arrays and objects, not scalars', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: 1 }, 1)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: 'x' }] }, 2)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 'x' }] }, 3)).toBe(false);
  });
  it('judges a body nested far beyond the limit without recursing (no stack overflow)', () => {
    const deep = JSON.parse('['.repeat(50_000) + ']'.repeat(50_000)) as unknown;
    expect(nestedDeeperThan(deep, MAX_BODY_DEPTH)).toBe(true);
    let wide: unknown = 0;
    for (let i = 0; i < MAX_BODY_DEPTH; i++) wide = { x: wide, y: 'z' };
    expect(nestedDeeperThan(wide, MAX_BODY_DEPTH)).toBe(false);
    expect(nestedDeeperThan({ z: wide }, MAX_BODY_DEPTH)).toBe(true);
  });
});
