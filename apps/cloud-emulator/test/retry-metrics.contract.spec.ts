import { register } from 'prom-client';
import type { CloudId } from '@skyweave/domain';
import { CLOUD_CALL, CLOUD_METRICS, createCloudProvider, isCloudError } from '@skyweave/cloud-adapters';
import { startEmulator } from '../src/emulator';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

/** Sum of a metric's samples on prom-client's default registry whose labels include `labels`. */
async function total(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return (values as { value: number; labels: Record<string, string | number>; metricName?: string }[])
    // a histogram's samples are its buckets, sum and count: count its observations by `_count`
    .filter((v) => v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`)
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
}

/**
 * One retry layer per cloud call, and every request counted: each adapter over the sandbox (official SDKs), with
 * throttling injected into its reads. A throttled read is retried and succeeds, and shows in the metrics; a read
 * throttled every time is sent exactly CLOUD_CALL.maxAttempts times in all (the SDK's retry and ours never multiply)
 * and then surfaces as `Throttled`.
 */
describe.each<CloudId>(['aws', 'gcp', 'azure', 'digitalocean'])('retries and metrics: %s', (cloud) => {
  let emu: Emulator;
  const requests = (outcome?: string) => total(CLOUD_METRICS.requests, { cloud, ...(outcome ? { outcome } : {}) });

  beforeAll(async () => {
    emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 } });
  });
  afterAll(async () => {
    await emu.close();
  });
  afterEach(() => emu.faults.clear());

  it('retries a throttled read, which then succeeds; the throttled attempt and the retry are counted', async () => {
    const provider = createCloudProvider(emu.modules[cloud].createAccount(), emu.endpoints);
    await provider.verifyCredentials(); // tokens fetched, clients warm
    const [throttled, ok, retries] = [await requests('Throttled'), await requests('ok'), await total(CLOUD_METRICS.retries, { cloud })];
    emu.faults.arm({ cloud, op: 'read', kind: 'throttle', count: 1 });
    await provider.verifyCredentials();
    expect(await requests('Throttled')).toBe(throttled + 1);
    expect(await requests('ok')).toBeGreaterThanOrEqual(ok + 1);
    expect(await total(CLOUD_METRICS.retries, { cloud })).toBe(retries + 1);
    expect(await total(CLOUD_METRICS.duration, { cloud, outcome: 'Throttled' })).toBeGreaterThanOrEqual(1);
  });

  it('retries a read refused once with a 5xx, which then succeeds; the failure is counted as Unavailable', async () => {
    const provider = createCloudProvider(emu.modules[cloud].createAccount(), emu.endpoints);
    await provider.verifyCredentials();
    const unavailable = await requests('Unavailable');
    emu.faults.arm({ cloud, op: 'read', kind: 'server-error', count: 1 });
    await provider.verifyCredentials();
    expect(await requests('Unavailable')).toBe(unavailable + 1);
  });

  it(`sends a read throttled every time ${CLOUD_CALL.maxAttempts} times in all, then fails with Throttled`, async () => {
    const provider = createCloudProvider(emu.modules[cloud].createAccount(), emu.endpoints);
    await provider.verifyCredentials();
    const before = await requests();
    emu.faults.arm({ cloud, op: 'read', kind: 'throttle', rate: 1 });
    const err = await provider.verifyCredentials().then(() => undefined, (e: unknown) => e);
    expect(isCloudError(err, 'Throttled')).toBe(true);
    expect(await requests() - before).toBe(CLOUD_CALL.maxAttempts);
  });
});
