import { FakeClock } from './clock';
import { Loop, MAX_CONFLICT_RETRIES, setCondition } from './controller';
import { ConflictError } from './objects';

describe('Loop', () => {
  it('coalesces kicks during a pass into one more pass', async () => {
    const clock = new FakeClock();
    let passes = 0;
    let release: () => void = () => undefined;
    const loop = new Loop('t', async () => {
      passes++;
      if (passes === 1) await new Promise<void>((r) => (release = r));
    }, clock, () => undefined);
    loop.kick();
    await new Promise((r) => setImmediate(r));
    loop.kick();
    loop.kick();
    release();
    await loop.idle();
    expect(passes).toBe(2);
  });

  it('with batchMs, turns a burst of kicks into one pass batchMs later', async () => {
    const clock = new FakeClock();
    let passes = 0;
    const loop = new Loop('t', async () => void passes++, clock, () => undefined, 1000, 100);
    for (let i = 0; i < 50; i++) loop.kick();
    await clock.advance(99, () => loop.idle());
    expect(passes).toBe(0);
    loop.kick();
    await clock.advance(1, () => loop.idle());
    expect(passes).toBe(1);
    await clock.advance(1000, () => loop.idle());
    expect(passes).toBe(1);
  });

  it('re-runs at once on Conflict, backs off after MAX_CONFLICT_RETRIES, and retries other errors after retryMs', async () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    let passes = 0;
    const loop = new Loop('t', async () => {
      passes++;
      throw new ConflictError('pods "x"');
    }, clock, (_n, e) => errors.push(e), 1000);
    loop.kick();
    await loop.idle();
    expect(passes).toBe(MAX_CONFLICT_RETRIES + 1);
    expect(errors).toHaveLength(1);
    await clock.advance(999, () => loop.idle());
    expect(passes).toBe(MAX_CONFLICT_RETRIES + 1);
    await clock.advance(1, () => loop.idle());
    expect(passes).toBe(2 * (MAX_CONFLICT_RETRIES + 1));
    loop.stop();
    await clock.advance(5000, () => loop.idle());
    expect(passes).toBe(2 * (MAX_CONFLICT_RETRIES + 1));
  });
});

describe('setCondition', () => {
  it('moves lastTransitionTime only when the status changes', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'A' }, 't1');
    expect(first).toEqual({ conditions: [{ type: 'Ready', status: 'True', reason: 'A', lastTransitionTime: 't1' }], changed: true });
    const same = setCondition(first.conditions, { type: 'Ready', status: 'True', reason: 'A' }, 't2');
    expect(same.changed).toBe(false);
    expect(same.conditions[0].lastTransitionTime).toBe('t1');
    const flipped = setCondition(same.conditions, { type: 'Ready', status: 'False', reason: 'B' }, 't3');
    expect(flipped).toEqual({ conditions: [{ type: 'Ready', status: 'False', reason: 'B', lastTransitionTime: 't3' }], changed: true });
  });
});
