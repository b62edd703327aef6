import { checkFaultSpec, FaultBook } from './faults';
import { ConsistencyBook } from './consistency';
import { CallCounter } from './calls';
import { checkLatencyPatch, latencyOf } from './latency';

describe('FaultBook', () => {
  it('fires an armed fault exactly count times, for its cloud and operation only', () => {
    const f = new FaultBook();
    f.arm({ cloud: 'aws', op: 'read', kind: 'throttle', count: 2 });
    expect(f.take('gcp', 'read')).toBeUndefined();
    expect(f.take('aws', 'instance.create')).toBeUndefined();
    expect(f.take('aws', 'read')).toBe('throttle');
    expect(f.take('aws', 'read')).toBe('throttle');
    expect(f.take('aws', 'read')).toBeUndefined();
  });
  it('matches any operation with *', () => {
    const f = new FaultBook();
    f.arm({ cloud: 'azure', op: '*', kind: 'server-error' });
    expect(f.take('azure', 'network.create')).toBe('server-error');
  });
  it('fails every call with rate 1 and none when the draw is above the rate, until cleared', () => {
    let draw = 0.3;
    const f = new FaultBook(() => draw);
    f.arm({ cloud: 'gcp', op: 'read', kind: 'throttle', rate: 1 });
    for (let i = 0; i < 5; i++) expect(f.take('gcp', 'read')).toBe('throttle');
    f.clear();
    f.arm({ cloud: 'gcp', op: 'read', kind: 'throttle', rate: 0.5 });
    draw = 0.99;
    for (let i = 0; i < 5; i++) expect(f.take('gcp', 'read')).toBeUndefined();
    draw = 0.49;
    expect(f.take('gcp', 'read')).toBe('throttle');
    expect(f.list()).toEqual([{ id: 2, cloud: 'gcp', op: 'read', kind: 'throttle', rate: 0.5 }]);
  });
  it('draws each matching fault independently, in arming order, and the first hit wins', () => {
    const draws: number[] = [];
    const f = new FaultBook(() => draws.shift() ?? 0.99);
    f.arm({ cloud: 'aws', op: '*', kind: 'throttle', rate: 0.1 });
    f.arm({ cloud: 'aws', op: '*', kind: 'server-error', rate: 0.05 });
    draws.push(0.05);
    expect(f.take('aws', 'read')).toBe('throttle');
    expect(draws).toEqual([]); // the second was not drawn
    draws.push(0.5, 0.01);
    expect(f.take('aws', 'network.create')).toBe('server-error');
    draws.push(0.5, 0.5);
    expect(f.take('aws', 'read')).toBeUndefined();
  });
  it('lists and clears per cloud', () => {
    const f = new FaultBook();
    f.arm({ cloud: 'aws', op: 'read', kind: 'throttle', count: 3 });
    f.arm({ cloud: 'digitalocean', op: '*', kind: 'quota', rate: 0.2 });
    expect(f.list('aws')).toEqual([{ id: 1, cloud: 'aws', op: 'read', kind: 'throttle', count: 3 }]);
    f.clear('aws');
    expect(f.list().map((x) => x.cloud)).toEqual(['digitalocean']);
  });
  it('refuses invalid specs', () => {
    const f = new FaultBook();
    expect(() => f.arm({ cloud: 'aws', op: 'read', kind: 'throttle', rate: 1.5 })).toThrow(/rate must be a number with 0 < rate ≤ 1/);
    expect(() => f.arm({ cloud: 'aws', op: 'nope' as never, kind: 'throttle', count: 1 })).toThrow(/op must be one of/);
  });
});

describe('checkFaultSpec', () => {
  const field = (body: unknown) => {
    const r = checkFaultSpec(body);
    return 'problem' in r ? r.problem.field : 'ok';
  };
  it('names the field that breaks a rule', () => {
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', count: 1 })).toBe('ok');
    expect(field({ cloud: 'aws', op: '*', kind: 'throttle', rate: 1 })).toBe('ok');
    expect(field({ cloud: 'mars', op: 'read', kind: 'throttle', count: 1 })).toBe('cloud');
    expect(field({ cloud: 'aws', op: 'reads', kind: 'throttle', count: 1 })).toBe('op');
    expect(field({ cloud: 'aws', op: 'read', kind: 'boom', count: 1 })).toBe('kind');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle' })).toBe('count');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', count: 1, rate: 0.5 })).toBe('count');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', count: 0 })).toBe('count');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', count: 1.5 })).toBe('count');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', rate: 0 })).toBe('rate');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', rate: '0.5' })).toBe('rate');
    expect(field({ cloud: 'aws', op: 'read', kind: 'throttle', count: 1, extra: true })).toBe('extra');
    expect(field([])).toBe('body');
  });
});

describe('ConsistencyBook', () => {
  it('hides what is younger than the window on that cloud only', () => {
    let now = 10_000;
    const c = new ConsistencyBook(() => now);
    c.setDelay('gcp', 500);
    expect(c.visible('gcp', 9_600)).toBe(false);
    expect(c.visible('aws', 9_600)).toBe(true);
    now = 10_100;
    expect(c.visible('gcp', 9_600)).toBe(true);
    c.setDelay('gcp', 0);
    expect(c.settings()).toEqual({ aws: 0, gcp: 0, azure: 0, digitalocean: 0 });
    expect(() => c.setDelay('aws', -1)).toThrow(RangeError);
  });
});

describe('CallCounter', () => {
  it('counts per cloud and call, sorted, with totals', () => {
    const k = new CallCounter();
    k.count('gcp', 'networks.list');
    k.count('aws', 'DescribeVpcs');
    k.count('aws', 'CreateVpc');
    k.count('aws', 'DescribeVpcs');
    expect(k.snapshot()).toEqual({
      calls: [
        { cloud: 'aws', call: 'CreateVpc', count: 1 },
        { cloud: 'aws', call: 'DescribeVpcs', count: 2 },
        { cloud: 'gcp', call: 'networks.list', count: 1 },
      ],
      total: 4,
      unimplemented: [],
      byCloud: { aws: 3, gcp: 1, azure: 0, digitalocean: 0 },
    });
    expect(k.snapshot('gcp')).toEqual({ calls: [{ cloud: 'gcp', call: 'networks.list', count: 1 }], total: 1, byCloud: { gcp: 1 }, unimplemented: [] });
    k.reset('aws');
    expect(k.snapshot().total).toBe(1);
    k.reset();
    expect(k.snapshot().total).toBe(0);
  });
});

describe('latency', () => {
  it('takes the cloud override over the shared value', () => {
    expect(latencyOf({ read: 5 }, { gcp: { read: 200 } }, 'gcp', 'read')).toBe(200);
    expect(latencyOf({ read: 5 }, { gcp: { read: 200 } }, 'aws', 'read')).toBe(5);
    expect(latencyOf({}, {}, 'aws', 'instance.create')).toBe(0);
  });
  it('validates a patch', () => {
    expect(checkLatencyPatch({ read: 10, 'instance.boot': 0 })).toEqual({ patch: { read: 10, 'instance.boot': 0 } });
    expect(checkLatencyPatch({ reed: 10 })).toMatchObject({ problem: { field: 'reed' } });
    expect(checkLatencyPatch({ read: 600_001 })).toMatchObject({ problem: { field: 'read' } });
    expect(checkLatencyPatch({ read: '5' })).toMatchObject({ problem: { field: 'read' } });
  });
});
