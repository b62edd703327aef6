import { readSettings } from './module';

describe('kube-watcher settings', () => {
  it('defaults: one flush per second, 120 s NotReady threshold, 5 s poll, 30 s lease, 300 s relist, 1-30 s backoff, 15 s connect timeout', () => {
    expect(readSettings({ SKYWEAVE_REPLICA: 'r1' })).toEqual({
      replica: 'r1', flushIntervalMs: 1000, notReadyThresholdMs: 120_000, pollIntervalMs: 5000, leaseSeconds: 30, resyncMs: 300_000,
      backoffBaseMs: 1000, backoffCapMs: 30_000, connectTimeoutMs: 15_000,
    });
  });

  it('reads every variable, and names a bad one', () => {
    expect(readSettings({ SKYWEAVE_KUBE_FLUSH_MS: '250', SKYWEAVE_KUBE_NOT_READY_SECONDS: '30', SKYWEAVE_KUBE_POLL_SECONDS: '2', SKYWEAVE_KUBE_LEASE_SECONDS: '10' }))
      .toMatchObject({ flushIntervalMs: 250, notReadyThresholdMs: 30_000, pollIntervalMs: 2000, leaseSeconds: 10 });
    expect(() => readSettings({ SKYWEAVE_KUBE_FLUSH_MS: 'soon' })).toThrow(/SKYWEAVE_KUBE_FLUSH_MS/);
    expect(() => readSettings({ SKYWEAVE_KUBE_LEASE_SECONDS: '5', SKYWEAVE_KUBE_POLL_SECONDS: '5' })).toThrow(/LEASE_SECONDS must be longer/);
  });
});
