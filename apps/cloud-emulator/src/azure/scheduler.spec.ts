import { Scheduler } from './state';

describe('Scheduler (sandbox Azure deferred transitions)', () => {
  it('runs a task whose timer fired before the wall clock reached its time, without any request to settle it', async () => {
    // a wall clock at half the timers' speed: every timer fires while clock() < at, as Node's may by a millisecond
    const start = Date.now();
    const clock = () => start + (Date.now() - start) / 2;
    const scheduler = new Scheduler(clock);
    const ran: number[] = [];
    scheduler.schedule(clock() + 20, () => ran.push(1));
    for (let i = 0; i < 200 && ran.length === 0; i++) await new Promise((ok) => setTimeout(ok, 10));
    expect(ran).toEqual([1]);
  });

  it('runs due tasks in time order on a request (settle), each once', () => {
    let now = 1_000;
    const scheduler = new Scheduler(() => now);
    const ran: string[] = [];
    scheduler.schedule(1_200, () => ran.push('b'));
    scheduler.schedule(1_100, () => ran.push('a'));
    scheduler.schedule(5_000, () => ran.push('later'));
    now = 1_300;
    scheduler.settle();
    scheduler.settle();
    expect(ran).toEqual(['a', 'b']);
  });
});
