import { serviceClock } from './config';

describe('serviceClock (SKYWEAVE_CLOCK_OFFSET_SECONDS)', () => {
  it('is the wall clock without an offset, and runs the offset ahead of it with one', () => {
    expect(serviceClock({})).toBe(Date.now);
    expect(serviceClock({ SKYWEAVE_CLOCK_OFFSET_SECONDS: '' })).toBe(Date.now);
    const before = Date.now();
    const moved = serviceClock({ SKYWEAVE_CLOCK_OFFSET_SECONDS: '90000' })();
    expect(moved).toBeGreaterThanOrEqual(before + 90_000_000);
    expect(moved).toBeLessThanOrEqual(Date.now() + 90_000_000);
  });

  it('refuses an offset that is not a non-negative number, naming the variable', () => {
    for (const bad of ['-1', 'a day', 'Infinity']) {
      expect(() => serviceClock({ SKYWEAVE_CLOCK_OFFSET_SECONDS: bad })).toThrow(/SKYWEAVE_CLOCK_OFFSET_SECONDS must be a non-negative number of seconds/);
    }
  });
});
