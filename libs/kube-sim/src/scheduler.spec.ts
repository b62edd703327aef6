import { FakeClock } from './clock';
import { InMemoryKubeObjects } from './objects';
import { Scheduler } from './scheduler';
import { Node, Pod } from './types';

const node = (name: string, labels: Record<string, string> = {}, spec: Node['spec'] = {}): Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec,
  status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110' } },
});

const pod = (name: string, spec: Partial<Pod['spec']> = {}, cpu = '100m'): Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu } } }], ...spec },
});

async function setup(nodes: Node[]) {
  const clock = new FakeClock();
  const objects = new InMemoryKubeObjects(clock);
  for (const n of nodes) await objects.create('nodes', n);
  return { clock, objects, scheduler: new Scheduler(objects, clock) };
}

describe('Scheduler', () => {
  it('binds with PodScheduled=True and a Scheduled event, honouring nodeSelector', async () => {
    const { objects, scheduler } = await setup([node('aws-1', { 'skyweave.io/cloud': 'aws' }), node('gcp-1', { 'skyweave.io/cloud': 'gcp' })]);
    await objects.create('pods', pod('p', { nodeSelector: { 'skyweave.io/cloud': 'gcp' } }));
    expect(await scheduler.schedulePending()).toEqual([{ pod: 'default/p', node: 'gcp-1' }]);
    const bound = await objects.get('pods', 'p', 'default');
    expect(bound?.spec.nodeName).toBe('gcp-1');
    expect(bound?.status?.conditions).toEqual([{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
    const events = await objects.list('events');
    expect(events.map((e) => [e.reason, e.message, e.source?.component])).toEqual([['Scheduled', 'Successfully assigned default/p to gcp-1', 'default-scheduler']]);
    expect(await scheduler.schedulePending()).toEqual([]);
  });

  it('prefers a node without untolerated PreferNoSchedule taints, even a busier one', async () => {
    const { objects, scheduler } = await setup([node('spot', {}, { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }), node('busy')]);
    await objects.create('pods', { ...pod('filler', { nodeName: 'busy' }, '1500m') });
    await objects.create('pods', pod('p'));
    expect(await scheduler.schedulePending()).toEqual([{ pod: 'default/p', node: 'busy' }]);
  });

  it('places higher-priority pods first, then older ones', async () => {
    const { objects, scheduler, clock } = await setup([node('only')]);
    await objects.create('pods', pod('old-low', {}, '1500m'));
    await clock.advance(1000);
    await objects.create('pods', pod('new-high', { priority: 1000 }, '1500m'));
    const placed = await scheduler.schedulePending();
    expect(placed[0]).toEqual({ pod: 'default/new-high', node: 'only' });
    expect(placed[1]).toMatchObject({ pod: 'default/old-low', node: undefined });
  });

  it('leaves pods of other schedulers and finished pods alone', async () => {
    const { objects, scheduler } = await setup([node('n')]);
    await objects.create('pods', pod('custom', { schedulerName: 'my-scheduler' }));
    const done = await objects.create('pods', pod('done'));
    await objects.updateStatus('pods', { ...done, status: { phase: 'Succeeded' } });
    expect(await scheduler.schedulePending()).toEqual([]);
  });

  it('writes the Unschedulable condition once per distinct message', async () => {
    const { objects, scheduler } = await setup([node('n')]);
    await objects.create('pods', pod('huge', {}, '4'));
    const [first] = await scheduler.schedulePending();
    expect(first).toMatchObject({ node: undefined, message: '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.' });
    const version = (await objects.get('pods', 'huge', 'default'))?.metadata.resourceVersion;
    await scheduler.schedulePending();
    expect((await objects.get('pods', 'huge', 'default'))?.metadata.resourceVersion).toBe(version);
    expect((await objects.list('events')).filter((e) => e.reason === 'FailedScheduling')).toHaveLength(1);
  });
});
