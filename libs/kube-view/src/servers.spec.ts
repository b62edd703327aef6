import type { WatchedNode } from '@skyweave/persistence';
import { masterServers } from './servers';
import { describeError } from './watch';

const n = (o: Partial<WatchedNode>): WatchedNode => ({
  id: 'x', name: 'x', role: 'master', ordinal: 0, phase: 'Joined', privateIp: null, publicIp: null, removalRequested: false, ...o,
});

describe('masterServers (the production API server resolver)', () => {
  it('https://<ip>:6443 of each master, master-0 first, public IP before private, workers and terminated masters left out', () => {
    expect(masterServers([
      n({ name: 'w', role: 'worker', ordinal: 0, privateIp: '10.0.0.9', publicIp: '203.0.113.9' }),
      n({ name: 'm2', ordinal: 2, privateIp: '10.0.0.3' }),
      n({ name: 'm1', ordinal: 1, privateIp: '10.0.0.2', publicIp: '203.0.113.2', phase: 'Terminated' }),
      n({ name: 'm0', ordinal: 0, privateIp: '10.0.0.1', publicIp: '203.0.113.1' }),
      n({ name: 'm3', ordinal: 3 }),
      n({ name: 'm4', ordinal: 4, privateIp: 'fd00::4' }),
    ])).toEqual(['https://203.0.113.1:6443', 'https://10.0.0.3:6443', 'https://[fd00::4]:6443']);
  });

  it('none before a master has an address', () => {
    expect(masterServers([n({})])).toEqual([]);
  });
});

describe('describeError (the KubernetesApiReachable reason and message)', () => {
  it('maps API statuses and connection failures', () => {
    expect(describeError({ code: 401, body: '{"kind":"Status","message":"Unauthorized"}', message: 'HTTP-Code: 401\nMessage: x' })).toEqual({ reason: 'Unauthorized', message: '401 Unauthorized: Unauthorized' });
    expect(describeError({ statusCode: 403, message: 'Forbidden' })).toEqual({ reason: 'Forbidden', message: '403 Forbidden: Forbidden' });
    expect(describeError({ code: 500, body: { message: 'etcd down' } })).toEqual({ reason: 'ApiError', message: 'HTTP 500: etcd down' });
    const refused = Object.assign(new Error('request to https://10.0.0.1:6443/api/v1/nodes failed, reason: connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
    expect(describeError(refused)).toEqual({ reason: 'Unreachable', message: refused.message });
  });
});
