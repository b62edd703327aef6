import {
  CLUSTER_PHASES, CLUSTER_TRANSITIONS, NETWORK_PHASES, NETWORK_TRANSITIONS, NODE_PHASES, NODE_TRANSITIONS, SettlementSnapshot,
  TransitionTable, canTransition, isUnsettled, sourcesOf,
} from './lifecycle';
import { CONDITION_OWNERS, ConditionType, WAITING_CONDITION, conditionOwner, patchConditions } from './conditions';

const now = new Date('2026-12-01T12:00:00Z');
const later = (s: number) => new Date(now.getTime() + s * 1000);

describe('transition tables', () => {
  const tables: [string, TransitionTable<string>, readonly string[]][] = [
    ['node', NODE_TRANSITIONS, NODE_PHASES], ['network', NETWORK_TRANSITIONS, NETWORK_PHASES], ['cluster', CLUSTER_TRANSITIONS, CLUSTER_PHASES],
  ];
  it.each(tables)('%s: has a row for every phase, names only known phases, and has no Failed phase', (_n, table, phases) => {
    expect(Object.keys(table).sort()).toEqual([...phases].sort());
    for (const targets of Object.values(table)) for (const t of targets) expect(phases).toContain(t);
    expect(phases).not.toContain('Failed');
  });

  it.each(tables)('%s: every phase is reachable from Pending, and the end phase is terminal and reachable from everywhere', (_n, table, phases) => {
    const end = phases.at(-1) as string;
    const reach = (from: string) => {
      const seen = new Set([from]);
      for (const queue = [from]; queue.length;) for (const t of table[queue.shift() as string]) if (!seen.has(t)) { seen.add(t); queue.push(t); }
      return seen;
    };
    expect([...reach('Pending')].sort()).toEqual([...phases].sort());
    expect(table[end]).toEqual([]);
    // delete always proceeds: every phase leads to the end
    for (const p of phases) expect(reach(p).has(end)).toBe(true);
  });

  it('node: the agent moves Booting → Registered → Joining → Joined; a lost VM goes back to Pending; a terminated node stays so', () => {
    expect(canTransition(NODE_TRANSITIONS, 'Booting', 'Registered')).toBe(true);
    expect(canTransition(NODE_TRANSITIONS, 'Registered', 'Joining')).toBe(true);
    expect(canTransition(NODE_TRANSITIONS, 'Joining', 'Joined')).toBe(true);
    expect(canTransition(NODE_TRANSITIONS, 'Joined', 'Pending')).toBe(true);
    expect(canTransition(NODE_TRANSITIONS, 'Terminating', 'Joined')).toBe(false);
    expect(canTransition(NODE_TRANSITIONS, 'Terminated', 'Pending')).toBe(false);
    expect(canTransition(NODE_TRANSITIONS, 'Pending', 'Joined')).toBe(false);
    expect(sourcesOf(NODE_TRANSITIONS, 'Terminated')).toEqual(['Terminating']);
    expect(sourcesOf(NODE_TRANSITIONS, 'Terminating').sort()).toEqual(['Booting', 'Joined', 'Joining', 'Launching', 'Pending', 'Registered']);
  });

  it('cluster: a Ready cluster never goes back to Provisioning, and Deleting only ends in Deleted', () => {
    expect(canTransition(CLUSTER_TRANSITIONS, 'Ready', 'Provisioning')).toBe(false);
    expect(CLUSTER_TRANSITIONS.Deleting).toEqual(['Deleted']);
    expect(sourcesOf(CLUSTER_TRANSITIONS, 'Deleting').sort()).toEqual(['Pending', 'Provisioning', 'Ready']);
  });
});

describe('isUnsettled', () => {
  const ready = (over: Partial<SettlementSnapshot> = {}): SettlementSnapshot => ({
    phase: 'Ready', deletionRequested: false, kubernetesVersion: '1.31.4',
    networks: [{ phase: 'Ready' }], nodes: [{ phase: 'Joined', removalRequested: false, kubernetesVersion: '1.31.4' }], operations: [], ...over,
  });

  it('settles a Ready cluster whose rows are all settled; not a Deleted one ever', () => {
    expect(isUnsettled(ready(), now)).toBe(false);
    expect(isUnsettled({ ...ready(), phase: 'Deleted', deletionRequested: true }, now)).toBe(false);
  });

  it('unsettles clusters being created or deleted, and a Ready one asked to be deleted', () => {
    for (const phase of ['Pending', 'Provisioning', 'Deleting'] as const) expect(isUnsettled(ready({ phase }), now)).toBe(true);
    expect(isUnsettled(ready({ deletionRequested: true }), now)).toBe(true);
  });

  it('does not re-drive a Ready cluster with a refused network forever: only once its backoff is over', () => {
    const refused = ready({ networks: [{ phase: 'Provisioning', retryAt: later(900) }] });
    expect(isUnsettled(refused, now)).toBe(false);
    expect(isUnsettled(refused, later(899))).toBe(false);
    expect(isUnsettled(refused, later(900))).toBe(true);
    // a drifted network being repaired (no backoff) is work to do
    expect(isUnsettled(ready({ networks: [{ phase: 'Provisioning' }] }), now)).toBe(true);
  });

  it('re-drives a node being replaced, but not one waiting out a refusal, and a removal until terminated', () => {
    expect(isUnsettled(ready({ nodes: [{ phase: 'Pending', removalRequested: false }] }), now)).toBe(true);
    expect(isUnsettled(ready({ nodes: [{ phase: 'Pending', removalRequested: false, retryAt: later(30) }] }), now)).toBe(false);
    expect(isUnsettled(ready({ nodes: [{ phase: 'Joined', removalRequested: true }] }), now)).toBe(true);
    expect(isUnsettled(ready({ nodes: [{ phase: 'Terminating', removalRequested: true, retryAt: later(30) }] }), now)).toBe(false);
    expect(isUnsettled(ready({ nodes: [{ phase: 'Terminated', removalRequested: true }] }), now)).toBe(false);
  });

  it('re-drives agent operations under way, and an upgrade until a failed step stops it', () => {
    expect(isUnsettled(ready({ operations: [{ purpose: 'removal', state: 'Running', kubernetesVersion: null }] }), now)).toBe(true);
    const behind = { nodes: [{ phase: 'Joined' as const, removalRequested: false, kubernetesVersion: '1.31.3' }] };
    expect(isUnsettled(ready(behind), now)).toBe(true);
    expect(isUnsettled(ready({ ...behind, operations: [{ purpose: 'upgrade', state: 'Failed', kubernetesVersion: '1.31.4' }] }), now)).toBe(false);
    expect(isUnsettled(ready({ nodes: [{ phase: 'Joined', removalRequested: false, kubernetesVersion: null }] }), now)).toBe(false);
  });
});

describe('condition ownership', () => {
  it('gives every condition type exactly one owner, and every waiting reason a condition', () => {
    const owned = Object.values(CONDITION_OWNERS).flat();
    expect([...owned].sort()).toEqual(Object.values(ConditionType).sort());
    expect(new Set(owned).size).toBe(owned.length);
    for (const t of Object.values(ConditionType)) expect(conditionOwner(t)).toBeDefined();
    for (const c of Object.values(WAITING_CONDITION)) expect(CONDITION_OWNERS.reconciler).toContain(c);
  });

  it('patches only the writer\'s own types, by type, keeping the others and unchanged transition times', () => {
    const t0 = '2026-12-01T00:00:00.000Z';
    const current = [
      { type: 'CrossCloudLatency', status: 'True' as const, reason: 'WithinBudget', message: 'x', lastTransitionTime: t0 },
      { type: 'InSync', status: 'True' as const, reason: 'NoDrift', message: 'old', lastTransitionTime: t0 },
    ];
    const next = patchConditions(current, 'full-reconcile', { set: [{ type: 'InSync', status: 'True', reason: 'NoDrift', message: 'new' }] }, now);
    expect(next).toEqual([current[0], { ...current[1], message: 'new' }]);
    expect(() => patchConditions(current, 'full-reconcile', { set: [{ type: 'Ready', status: 'True', reason: 'ClusterReady', message: '' }] })).toThrow(/not owned by full-reconcile/);
    expect(() => patchConditions(current, 'reconciler', { remove: ['CrossCloudLatency'] })).toThrow(/not owned/);
  });
});
