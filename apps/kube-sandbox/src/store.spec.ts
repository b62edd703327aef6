import { KubeApiError } from './errors';
import { MemoryKubeStore, StoreEvent } from './store';

const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });
const CM = { group: '', resource: 'configmaps' };
const POD = { group: '', resource: 'pods' };

describe('MemoryKubeStore', () => {
  it('gives every write the next revision across kinds, and checks resourceVersion preconditions', async () => {
    const s = new MemoryKubeStore();
    const a = await s.create(CM, cm('a'));
    const p = await s.create(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' } });
    expect([a.metadata.resourceVersion, p.metadata.resourceVersion]).toEqual(['1', '2']);
    await expect(s.create(CM, cm('a'))).rejects.toMatchObject({ code: 409, reason: 'AlreadyExists' });
    await expect(s.update(CM, cm('a', { x: '1' }), '0')).rejects.toMatchObject({ code: 409, reason: 'Conflict' });
    const u = await s.update(CM, cm('a', { x: '1' }), '1');
    expect(u.metadata.resourceVersion).toBe('3');
    await expect(s.delete(CM, 'default', 'a', '1')).rejects.toMatchObject({ code: 409 });
    expect((await s.delete(CM, 'default', 'a')).metadata.resourceVersion).toBe('4');
    await expect(s.get(CM, 'default', 'a')).resolves.toBeUndefined();
    await expect(s.delete(CM, 'default', 'a')).rejects.toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('replays history after a revision, then live events, and expires revisions before the window', async () => {
    const s = new MemoryKubeStore(2);
    await s.create(CM, cm('a'));
    await s.create(CM, cm('b'));
    await s.create(CM, cm('c'));
    const seen: StoreEvent[] = [];
    const w = await s.watch(CM, 1, (e) => seen.push(e));
    await s.update(CM, cm('a', { v: '2' }));
    w.stop();
    await s.delete(CM, 'default', 'b');
    expect(seen.map((e) => [e.type, e.object.metadata.name, e.revision])).toEqual([['ADDED', 'b', 2], ['ADDED', 'c', 3], ['MODIFIED', 'a', 4]]);
    expect(seen[2].previous?.data).toEqual({});
    // history keeps 2 events (4, 5): a watch from 2 misses event 3
    const err = await s.watch(CM, 2, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).toStatus()).toMatchObject({ code: 410, reason: 'Expired' });
    await expect(s.watch(CM, 3, () => undefined)).resolves.toBeDefined();
    s.compact();
    await expect(s.watch(CM, 4, () => undefined)).rejects.toMatchObject({ code: 410 });
  });
});
