import { KubeApiError } from './errors';
import { ObjectApi } from './objects';
import { BUILTIN_TYPES, ResourceRegistry } from './resources';
import { MemoryKubeStore } from './store';
import { KubeObject } from './types';

const PODS = BUILTIN_TYPES.find((t) => t.resource === 'pods' && !t.group)!;
const PDBS = BUILTIN_TYPES.find((t) => t.resource === 'poddisruptionbudgets')!;

/** Running, Ready pods app=web on node-a and a PDB allowing `allowed` disruptions, its status current. */
async function setup(pods: number, allowed: number) {
  const store = new MemoryKubeStore();
  const api = new ObjectApi(store, new ResourceRegistry());
  await api.seed();
  for (let i = 0; i < pods; i++) {
    const p = await api.create(PODS, 'default', { metadata: { name: `web-${i}`, labels: { app: 'web' } }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'nginx' }] } });
    await api.update(PODS, 'default', `web-${i}`, { ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'status');
  }
  const pdb = await api.create(PDBS, 'default', { metadata: { name: 'web' }, spec: { maxUnavailable: allowed, selector: { matchLabels: { app: 'web' } } } });
  await api.update(PDBS, 'default', 'web', { ...pdb, status: { observedGeneration: 1, disruptionsAllowed: allowed, currentHealthy: pods, desiredHealthy: pods - allowed, expectedPods: pods } }, 'status');
  const evict = (name: string) => api.evict(PODS, 'default', name, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name } });
  return { api, store, evict };
}

const outcome = (p: Promise<void>) => p.then(() => 'evicted', (e: unknown) => (e instanceof KubeApiError ? e.code : String(e)));

describe('pods/eviction against one PodDisruptionBudget (ObjectApi.evict)', () => {
  it('concurrent evictions take a budget of 2 exactly twice: the PDB write is guarded by its resourceVersion and conflicts re-read', async () => {
    const { api, evict } = await setup(5, 2);
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => outcome(evict(`web-${i}`))));
    expect(results.filter((r) => r === 'evicted')).toHaveLength(2);
    expect(results.filter((r) => r === 429)).toHaveLength(3);
    const pdb: KubeObject = await api.get(PDBS, 'default', 'web');
    const status = pdb['status'] as { disruptionsAllowed: number; disruptedPods: Record<string, string> };
    expect(status.disruptionsAllowed).toBe(0);
    const evicted = results.map((r, i) => (r === 'evicted' ? `web-${i}` : '')).filter(Boolean);
    expect(Object.keys(status.disruptedPods).sort()).toEqual(evicted);
    for (const name of evicted) expect((await api.get(PODS, 'default', name)).metadata.deletionTimestamp).toBeDefined();
  });

  it('dryRun must agree with the request; a dry run writes nothing; a stale resourceVersion precondition is a 409 after the budget was spent', async () => {
    const { api } = await setup(2, 1);
    const mismatch = await api.evict(PODS, 'default', 'web-0', { metadata: { name: 'web-0' }, deleteOptions: { dryRun: ['All'] } }, { dryRun: ['Other'] }).catch((e: KubeApiError) => e);
    expect(mismatch).toMatchObject({ code: 500, reason: '', message: 'Non-matching dry-run options in request and content: [Other] and [All]' });
    // a dry run in the body alone: checked, nothing written
    await api.evict(PODS, 'default', 'web-0', { metadata: { name: 'web-0' }, deleteOptions: { dryRun: ['All'] } });
    expect((await api.get(PODS, 'default', 'web-0')).metadata.deletionTimestamp).toBeUndefined();
    expect(((await api.get(PDBS, 'default', 'web'))['status'] as { disruptionsAllowed: number }).disruptionsAllowed).toBe(1);
    // kube-apiserver decrements before it deletes: a delete refused by its precondition leaves the budget spent (the
    // disruption controller gives it back once the disruptedPods entry expires, 2 minutes later)
    const stale = await outcome(api.evict(PODS, 'default', 'web-0', { metadata: { name: 'web-0' }, deleteOptions: { preconditions: { resourceVersion: '1' } } }));
    expect(stale).toBe(409);
    expect((await api.get(PODS, 'default', 'web-0')).metadata.deletionTimestamp).toBeUndefined();
    expect((await api.get(PDBS, 'default', 'web'))['status']).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { 'web-0': expect.any(String) } });
  });
});
