import { jsonPatch, mergePatch, strategicMerge } from './patch';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { KubeObject } from './types';

describe('patches', () => {
  const deployment = {
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'a', image: 'nginx', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: 'redis' }] } } },
    metadata: { finalizers: ['f1'], labels: { app: 'web', old: 'x' } },
  };

  it('strategic merge merges containers by name, env by name, finalizers as a set, and honours $patch and null', () => {
    const out = strategicMerge(deployment, {
      spec: { template: { spec: { containers: [{ name: 'b', resources: { limits: { cpu: '200m' } } }, { name: 'a', env: [{ name: 'Y', value: '2' }] }, { name: 'c', image: 'busybox' }], '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } } },
      metadata: { finalizers: ['f2'], labels: { old: null } },
    }) as typeof deployment;
    expect(out.spec.template.spec.containers).toEqual([
      { name: 'a', image: 'nginx', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] },
      { name: 'b', image: 'redis', resources: { limits: { cpu: '200m' } } },
      { name: 'c', image: 'busybox' },
    ]);
    expect(out.metadata).toEqual({ finalizers: ['f1', 'f2'], labels: { app: 'web' } });
    const deleted = strategicMerge(deployment, { spec: { template: { spec: { containers: [{ name: 'b', $patch: 'delete' }] } } } }) as typeof deployment;
    expect(deleted.spec.template.spec.containers.map((c) => c.name)).toEqual(['a']);
    const replaced = strategicMerge(deployment, { metadata: { labels: { $patch: 'replace', only: 'this' } } }) as typeof deployment;
    expect(replaced.metadata.labels).toEqual({ only: 'this' });
  });

  it('JSON merge patch replaces lists and deletes with null; JSON patch fails with 422 on a failed test', () => {
    expect(mergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } })).toEqual({ a: [3], b: { d: 2 } });
    expect(jsonPatch({ spec: { replicas: 1 } }, [{ op: 'replace', path: '/spec/replicas', value: 4 }])).toEqual({ spec: { replicas: 4 } });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => jsonPatch({ a: 1 }, { op: 'add' })).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('selectors', () => {
  it('parses label selectors with =, ==, !=, in, notin, exists and !exists', () => {
    const m = parseLabelSelector('app=web, tier in (front,back),env!=prod,!legacy,zone');
    expect(m({ app: 'web', tier: 'front', zone: 'a' })).toBe(true);
    expect(m({ app: 'web', tier: 'front', zone: 'a', env: 'prod' })).toBe(false);
    expect(m({ app: 'web', tier: 'mid', zone: 'a' })).toBe(false);
    expect(m({ app: 'web', tier: 'back', zone: 'a', legacy: 'y' })).toBe(false);
    expect(m({ app: 'web', tier: 'back' })).toBe(false);
    expect(parseLabelSelector('a notin (x)')({})).toBe(true);
    expect(() => parseLabelSelector('a=(b')).toThrow(expect.objectContaining({ code: 400 }));
  });

  it('matches field selectors on supported labels (empty for absent fields) and rejects others with 400', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: {}, status: { phase: 'Pending' } } as KubeObject;
    expect(parseFieldSelector('spec.nodeName=,status.phase=Pending', ['spec.nodeName', 'status.phase'])(pod)).toBe(true);
    expect(parseFieldSelector('metadata.name!=p', [])(pod)).toBe(false);
    expect(() => parseFieldSelector('spec.color=red', ['spec.nodeName'])).toThrow(expect.objectContaining({ code: 400, message: 'field label not supported: spec.color' }));
  });
});
