import { FaultBook } from './faults';

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
});
