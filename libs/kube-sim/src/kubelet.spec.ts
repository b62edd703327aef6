import { FakeClock } from './clock';
import { gkeReservation, Kubelet, KubeletMachine, nextPodIP, qosClass } from './kubelet';
import { InMemoryKubeObjects } from './objects';
import { Pod } from './types';

const machine: KubeletMachine = {
  name: 'worker-0',
  vcpu: 4,
  memoryMiB: 16384,
  instanceType: 'm5.xlarge',
  region: 'us-east-1',
  zone: 'us-east-1b',
  cloud: 'aws',
  nodeId: '11111111-2222-4333-8444-555555555555',
  controlPlane: false,
  internalIP: '10.0.1.5',
  podCIDR: '10.244.3.0/24',
  providerID: 'aws:///us-east-1b/i-0123',
};

describe('gkeReservation (GKE node allocatable formula + 100 MiB eviction threshold)', () => {
  it.each([
    [2, 4096, 70, 1124], // 6% + 1% of cores; 25% of 4 GiB + 100 MiB
    [4, 16384, 80, 2763], // + 0.5% of cores 3-4; + 20% of 4-8 GiB + 10% of 8-16 GiB
    [8, 32768, 90, 3746], // + 0.25% above 4 cores; + 6% of 16-128 GiB
    [1, 512, 60, 355], // below 1 GiB: 255 MiB
  ])('%d vCPU / %d MiB reserves %dm cpu and %d MiB', (vcpu, mem, cpu, memory) => {
    expect(gkeReservation(vcpu, mem)).toEqual({ milliCPU: cpu, memoryMiB: memory });
  });
});

describe('nextPodIP', () => {
  it('hands out hosts from the second one on, skipping used ones, and stops at the broadcast address', () => {
    expect(nextPodIP('10.244.3.0/24', new Set())).toBe('10.244.3.2');
    expect(nextPodIP('10.244.3.0/24', new Set(['10.244.3.2', '10.244.3.3']))).toBe('10.244.3.4');
    expect(nextPodIP('10.244.3.0/30', new Set(['10.244.3.2']))).toBeUndefined();
  });
});

describe('qosClass', () => {
  const pod = (resources: Pod['spec']['containers'][0]['resources']): Pod => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources }] } });
  it('follows the Guaranteed / Burstable / BestEffort rules', () => {
    expect(qosClass(pod(undefined))).toBe('BestEffort');
    expect(qosClass(pod({ limits: { cpu: '1', memory: '1Gi' } }))).toBe('Guaranteed');
    expect(qosClass(pod({ requests: { cpu: '500m' }, limits: { cpu: '1', memory: '1Gi' } }))).toBe('Burstable');
  });
});

describe('Kubelet', () => {
  async function started(options: ConstructorParameters<typeof Kubelet>[4] = {}) {
    const clock = new FakeClock();
    const objects = new InMemoryKubeObjects(clock);
    const errors: unknown[] = [];
    const kubelet = new Kubelet(machine, objects, clock, (_c, e) => errors.push(e), options);
    await kubelet.start();
    const advance = (ms: number) => clock.advance(ms, () => kubelet.idle());
    return { clock, objects, kubelet, errors, advance };
  }

  it('registers the Node with its CIDR, provider ID, addresses and allocatable from the reservation', async () => {
    const { objects, kubelet } = await started({ reservation: () => ({ milliCPU: 500, memoryMiB: 1024 }) });
    const node = await objects.get('nodes', 'worker-0');
    expect(node?.spec).toEqual({ podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24'], providerID: 'aws:///us-east-1b/i-0123' });
    expect(node?.status?.allocatable).toEqual({ cpu: '3500m', memory: `${15360 * 1024}Ki`, pods: '110' });
    expect(node?.status?.addresses).toEqual([
      { type: 'InternalIP', address: '10.0.1.5' },
      { type: 'Hostname', address: 'worker-0' },
    ]);
    expect(node?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    kubelet.stop();
  });

  it('renews its Lease every leaseRenewMs and not after stop()', async () => {
    const { objects, kubelet, advance } = await started({ leaseRenewMs: 5_000 });
    const renewTime = async () => (await objects.get('leases', 'worker-0', 'kube-node-lease'))?.spec.renewTime;
    expect(await renewTime()).toBe('2026-01-01T00:00:00.000000Z');
    await advance(5_000);
    expect(await renewTime()).toBe('2026-01-01T00:00:05.000000Z');
    await advance(12_000);
    expect(await renewTime()).toBe('2026-01-01T00:00:15.000000Z');
    kubelet.stop();
    await advance(30_000);
    expect(await renewTime()).toBe('2026-01-01T00:00:15.000000Z');
  });

  it('starts a bound pod after podStartDelayMs and removes a deleted one after min(podStopDelayMs, grace)', async () => {
    const { objects, kubelet, advance, errors } = await started({ podStartDelayMs: 3_000, podStopDelayMs: 4_000 });
    await objects.create('pods', { metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'worker-0', containers: [{ name: 'app', image: 'nginx' }], terminationGracePeriodSeconds: 30 } });
    await advance(2_000);
    expect((await objects.get('pods', 'p', 'default'))?.status?.phase).toBeUndefined();
    await advance(1_000);
    const running = await objects.get('pods', 'p', 'default');
    expect(running?.status).toMatchObject({ phase: 'Running', podIP: '10.244.3.2', hostIP: '10.0.1.5', qosClass: 'BestEffort' });
    expect(running?.status?.containerStatuses).toEqual([expect.objectContaining({ name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:03Z' } } })]);
    await objects.delete('pods', 'p', 'default');
    await advance(3_000);
    expect((await objects.get('pods', 'p', 'default'))?.metadata.deletionTimestamp).toBeDefined();
    await advance(1_000);
    expect(await objects.get('pods', 'p', 'default')).toBeUndefined();
    // a pod deleted with a 1 s grace goes within it
    await objects.create('pods', { metadata: { name: 'q', namespace: 'default' }, spec: { nodeName: 'worker-0', containers: [{ name: 'app' }] } });
    await advance(3_000);
    await objects.delete('pods', 'q', 'default', { gracePeriodSeconds: 1 });
    await advance(1_000);
    expect(await objects.get('pods', 'q', 'default')).toBeUndefined();
    expect(errors).toEqual([]);
    kubelet.stop();
  });
});
