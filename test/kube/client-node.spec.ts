import { request } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { generateClusterPki, renderKubeconfig } from '@skyweave/bootstrap';
import { KubeHarness, nodeManifest, startHarness, until } from './support';

/**
 * The sandbox API server driven by the official client, @kubernetes/client-node 1.4.0. Behaviours checked against
 * "API Concepts" (https://kubernetes.io/docs/reference/using-api/api-concepts/: resource versions, watch from a
 * version, 410 Gone / Expired, watch bookmarks), the API conventions (409 Conflict on a stale resourceVersion, Status
 * bodies), "API-initiated Eviction", "Field Selectors" and "Labels and Selectors", and "Authenticating" (X509 client
 * certificates: the CA decides, user = CN).
 */
describe('sandbox Kubernetes API with @kubernetes/client-node', () => {
  let h: KubeHarness;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  const watches: AbortController[] = [];

  beforeAll(async () => {
    h = await startHarness({ bookmarkIntervalSeconds: 1, historySize: 1000 });
    kc = new k8s.KubeConfig();
    kc.loadFromString(h.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    for (const [name, ip] of [['node-a', '10.4.0.11'], ['node-b', '10.4.0.12']]) await core.createNode({ body: nodeManifest(name, ip) as k8s.V1Node });
  });
  afterAll(async () => {
    for (const w of watches) w.abort();
    await h.close();
  });

  /** Collects watch events until `done` says enough. */
  async function collect(path: string, query: Record<string, string | number | boolean | undefined>, done: (events: { type: string; obj: k8s.KubernetesObject & Record<string, unknown> }[]) => boolean) {
    const events: { type: string; obj: k8s.KubernetesObject & Record<string, unknown> }[] = [];
    let finished: (() => void) | undefined;
    const complete = new Promise<void>((r) => (finished = r));
    const w = await new k8s.Watch(kc).watch(path, query, (type, obj: k8s.KubernetesObject & Record<string, unknown>) => {
      events.push({ type, obj });
      if (done(events)) finished!();
    }, () => finished!());
    watches.push(w);
    await complete;
    w.abort();
    return events;
  }

  const pod = (name: string, labels: Record<string, string>, nodeName?: string): k8s.V1Pod => ({
    metadata: { name, labels }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'app', image: 'nginx' }] },
  });

  it('lists with one resourceVersion across kinds and watches every change after it, in order', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-1' }, data: { a: '1' } } });
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const rv = list.metadata!.resourceVersion!;
    expect(list.items.map((c) => c.metadata!.name)).toEqual(['cm-1']);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-2' }, data: { b: '2' } } });
    await core.createNamespacedPod({ namespace: 'default', body: pod('unrelated', { app: 'other' }) });
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'cm-1', body: { data: { a: '3' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const events = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: rv }, (e) => e.length >= 2);
    expect(events.map((e) => [e.type, e.obj.metadata!.name])).toEqual([['ADDED', 'cm-2'], ['MODIFIED', 'cm-1']]);
    expect((events[1].obj as unknown as k8s.V1ConfigMap).data).toEqual({ a: '3' });
    // resource versions grow across kinds: the pod was written between the two config map writes
    expect(Number(events[1].obj.metadata!.resourceVersion)).toBeGreaterThan(Number(events[0].obj.metadata!.resourceVersion) + 1);
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-3' } } });
    h.store.compact();
    const events = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: rv }, (e) => e.length >= 1);
    expect(events[0].type).toBe('ERROR');
    expect(events[0].obj).toMatchObject({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    // a fresh list gives a version that can be watched again
    const fresh = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion!;
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'cm-3' });
    const again = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: fresh }, (e) => e.length >= 1);
    expect(again.map((e) => [e.type, e.obj.metadata!.name])).toEqual([['DELETED', 'cm-3']]);
  });

  it('sends BOOKMARK events carrying the current resourceVersion when allowWatchBookmarks=true', async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: { name: 'elsewhere' } } });
    const events = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: rv, allowWatchBookmarks: true }, (e) => e.some((x) => x.type === 'BOOKMARK'));
    const bookmark = events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.obj.kind).toBe('ConfigMap');
    expect(Number(bookmark.obj.metadata!.resourceVersion)).toBeGreaterThan(Number(rv));
    expect(events.filter((e) => e.type !== 'BOOKMARK')).toEqual([]);
  });

  it('feeds a client-node informer: initial list, then add, update and delete events', async () => {
    const path = '/api/v1/namespaces/informed/configmaps';
    await core.createNamespace({ body: { metadata: { name: 'informed' } } });
    await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'first' } } });
    const informer = k8s.makeInformer(kc, path, () => core.listNamespacedConfigMap({ namespace: 'informed' }));
    const seen: string[] = [];
    informer.on('add', (o: k8s.V1ConfigMap) => seen.push(`add ${o.metadata!.name}`));
    informer.on('update', (o: k8s.V1ConfigMap) => seen.push(`update ${o.metadata!.name} ${JSON.stringify(o.data)}`));
    informer.on('delete', (o: k8s.V1ConfigMap) => seen.push(`delete ${o.metadata!.name}`));
    await informer.start();
    try {
      await until(async () => (seen.includes('add first') ? true : undefined), 'initial add');
      await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'second' }, data: { v: '1' } } });
      await until(async () => (seen.includes('add second') ? true : undefined), 'add event');
      await core.patchNamespacedConfigMap({ namespace: 'informed', name: 'second', body: { data: { v: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await until(async () => (seen.includes('update second {"v":"2"}') ? true : undefined), 'update event');
      await core.deleteNamespacedConfigMap({ namespace: 'informed', name: 'first' });
      await until(async () => (seen.includes('delete first') ? true : undefined), 'delete event');
      expect(informer.list().map((o) => o.metadata!.name)).toEqual(['second']);
    } finally {
      await informer.stop();
    }
  });

  it('refuses an update with a stale resourceVersion with 409 Conflict', async () => {
    const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'cm-1' });
    const updated = await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cm-1', body: { ...cm, data: { a: '4' } } });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
    const err = await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cm-1', body: { ...cm, data: { a: '5' } } }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    const ex = err as k8s.ApiException<string>;
    expect(ex.code).toBe(409);
    expect(JSON.parse(ex.body)).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409, details: { name: 'cm-1', kind: 'configmaps' } });
    expect((await core.readNamespacedConfigMap({ namespace: 'default', name: 'cm-1' })).data).toEqual({ a: '4' });
  });

  it('evicts pods: an unbound pod is deleted at once, a bound one is terminating until its kubelet removes it', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('loose', { app: 'web' }) });
    await core.createNamespacedPod({ namespace: 'default', body: pod('bound', { app: 'web' }, 'node-a') });
    const eviction = (name: string): k8s.V1Eviction => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } });
    await core.createNamespacedPodEviction({ namespace: 'default', name: 'loose', body: eviction('loose') });
    const gone = await core.readNamespacedPod({ namespace: 'default', name: 'loose' }).then(() => undefined, (e: k8s.ApiException<string>) => e);
    expect(gone?.code).toBe(404);
    expect(JSON.parse(gone!.body)).toMatchObject({ reason: 'NotFound', message: 'pods "loose" not found' });
    await core.createNamespacedPodEviction({ namespace: 'default', name: 'bound', body: eviction('bound') });
    const terminating = await core.readNamespacedPod({ namespace: 'default', name: 'bound' });
    expect(terminating.metadata!.deletionTimestamp).toBeDefined();
    expect(terminating.metadata!.deletionGracePeriodSeconds).toBe(30);
    // the kubelet's final delete
    await core.deleteNamespacedPod({ namespace: 'default', name: 'bound', gracePeriodSeconds: 0 });
    await until(() => core.readNamespacedPod({ namespace: 'default', name: 'bound' }).then(() => undefined, (e: k8s.ApiException<string>) => (e.code === 404 ? true : undefined)), 'bound pod deleted');
    const missing = await core.createNamespacedPodEviction({ namespace: 'default', name: 'nope', body: eviction('nope') }).then(() => undefined, (e: k8s.ApiException<string>) => e.code);
    expect(missing).toBe(404);
  });

  it('binds a pending pod once (pods/binding), then refuses a second binding with 409', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('to-bind', { app: 'bind' }) });
    await core.createNamespacedPodBinding({ namespace: 'default', name: 'to-bind', body: { metadata: { name: 'to-bind' }, target: { kind: 'Node', name: 'node-b' } } });
    const p = await core.readNamespacedPod({ namespace: 'default', name: 'to-bind' });
    expect(p.spec!.nodeName).toBe('node-b');
    expect(p.status!.conditions).toEqual([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]);
    const again = await core.createNamespacedPodBinding({ namespace: 'default', name: 'to-bind', body: { metadata: { name: 'to-bind' }, target: { kind: 'Node', name: 'node-a' } } })
      .then(() => undefined, (e: k8s.ApiException<string>) => e);
    expect(again?.code).toBe(409);
  });

  it('filters lists and watches by field and label selectors', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('sel-a1', { app: 'sel', tier: 'front' }, 'node-a') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('sel-a2', { app: 'sel', tier: 'back' }, 'node-a') });
    await core.createNamespacedPod({ namespace: 'kube-system', body: pod('sel-b1', { app: 'sel', tier: 'front' }, 'node-b') });
    const names = (l: k8s.V1PodList) => l.items.map((p) => p.metadata!.name).sort();
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a', labelSelector: 'app=sel' }))).toEqual(['sel-a1', 'sel-a2']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'app=sel,tier in (front)' }))).toEqual(['sel-a1', 'sel-b1']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'app=sel,tier!=front' }))).toEqual(['sel-a2']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=kube-system,status.phase=Pending' }))).toEqual(['sel-b1']);
    expect(names(await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'metadata.name=sel-a2' }))).toEqual(['sel-a2']);
    expect((await core.listNode({ labelSelector: 'kubernetes.io/hostname=node-b' })).items.map((n) => n.metadata!.name)).toEqual(['node-b']);
    const bad = await core.listPodForAllNamespaces({ fieldSelector: 'spec.color=red' }).then(() => undefined, (e: k8s.ApiException<string>) => e);
    expect(bad?.code).toBe(400);
    expect(JSON.parse(bad!.body)).toMatchObject({ reason: 'BadRequest', message: 'field label not supported: spec.color' });
    // a watch with a field selector sees a pod leave the selection as DELETED
    const rv = (await core.listPodForAllNamespaces({})).metadata!.resourceVersion!;
    // status is written through pods/status (the main resource ignores it, as kube-apiserver's pod strategy does)
    await core.patchNamespacedPod({ namespace: 'default', name: 'sel-a1', body: { status: { phase: 'Running' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    expect((await core.readNamespacedPod({ namespace: 'default', name: 'sel-a1' })).status!.phase).toBe('Pending');
    await core.patchNamespacedPodStatus({ namespace: 'default', name: 'sel-a1', body: { status: { phase: 'Running' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const events = await collect('/api/v1/pods', { resourceVersion: rv, fieldSelector: 'status.phase=Pending,spec.nodeName=node-a' }, (e) => e.length >= 1);
    expect(events.map((e) => [e.type, e.obj.metadata!.name])).toEqual([['DELETED', 'sel-a1']]);
  });

  it('pages a list with limit and continue', async () => {
    const all = (await core.listNamespace()).items.map((n) => n.metadata!.name);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = await core.listNamespace({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.metadata!.remainingItemCount).toBe(all.length - 2);
    const paged = [...first.items];
    let token = first.metadata!._continue;
    while (token) {
      const page = await core.listNamespace({ limit: 2, _continue: token });
      paged.push(...page.items);
      token = page.metadata!._continue;
    }
    expect(paged.map((n) => n.metadata!.name)).toEqual(all);
  });

  it('serves metadata-only lists (as=PartialObjectMetadataList) and server-side tables when asked by Accept', async () => {
    const user = kc.getCurrentUser()!;
    const tls = { ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'), cert: Buffer.from(user.certData!, 'base64'), key: Buffer.from(user.keyData!, 'base64') };
    const get = (path: string, accept: string) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(`${h.server.url}${path}`, { ...tls, headers: { Accept: accept } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      });
      req.on('error', reject);
      req.end();
    });
    const meta = await get('/api/v1/nodes', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json');
    expect(meta).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
    expect((meta['items'] as Record<string, unknown>[]).map((i) => [i['kind'], (i['metadata'] as { name: string }).name])).toEqual([['PartialObjectMetadata', 'node-a'], ['PartialObjectMetadata', 'node-b']]);
    const table = await get('/api/v1/nodes?includeObject=None', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect((table['rows'] as { cells: unknown[]; object?: unknown }[]).map((r) => [r.cells[0], r.cells[1], r.object])).toEqual([['node-a', 'Ready', undefined], ['node-b', 'Ready', undefined]]);
    expect(await get('/api/v1/nodes/node-a', 'application/json')).toMatchObject({ kind: 'Node', metadata: { name: 'node-a' } });
  });

  it('answers malformed requests with 4xx Status bodies, never 500', async () => {
    const user = kc.getCurrentUser()!;
    const tls = { ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'), cert: Buffer.from(user.certData!, 'base64'), key: Buffer.from(user.keyData!, 'base64') };
    const call = (method: string, path: string, contentType: string, body: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${h.server.url}${path}`, { ...tls, method, headers: { 'Content-Type': contentType, Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'target' }, data: { a: 'b' } } });
    const cases: [string, string, string, string, number, string][] = [
      ['POST', '/api/v1/namespaces/default/configmaps', 'application/json', '{not json', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/configmaps', 'application/json', '[1,2]', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/configmaps', 'application/json', '{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/configmaps', 'application/vnd.kubernetes.protobuf', 'garbage', 400, 'BadRequest'],
      ['PATCH', '/api/v1/namespaces/default/configmaps/target', 'text/plain', '{}', 415, 'UnsupportedMediaType'],
      ['PATCH', '/api/v1/namespaces/default/configmaps/target', 'application/json-patch+json', '[{"op":"test","path":"/data/a","value":"no"}]', 422, 'Invalid'],
      ['PATCH', '/api/v1/namespaces/default/configmaps/target', 'application/apply-patch+yaml', 'data: {a: b}', 400, 'BadRequest'],
      ['GET', '/api/v1/namespaces/default/configmaps/%E0%A4%A', 'application/json', '', 400, 'BadRequest'],
      ['GET', '/api/v1/pods?watch=true&resourceVersion=abc', 'application/json', '', 400, 'BadRequest'],
      ['GET', '/api/v1/pods?labelSelector=a%3D(b', 'application/json', '', 400, 'BadRequest'],
      ['GET', '/api/v1/widgets', 'application/json', '', 404, 'NotFound'],
      ['PUT', '/api/v1/namespaces/default/configmaps/target', 'application/json', '{"metadata":{"name":"other"}}', 400, 'BadRequest'],
      ['DELETE', '/api/v1/namespaces/default/configmaps/target', 'application/json', '{"gracePeriodSeconds":-5}', 400, 'BadRequest'],
      ['POST', '/api/v1/namespaces/default/pods/nope/log', 'application/json', '{}', 404, 'NotFound'],
    ];
    for (const [method, path, contentType, body, status, reason] of cases) {
      const r = await call(method, path, contentType, body);
      const status_ = r.text.startsWith('{') ? (JSON.parse(r.text) as Record<string, unknown>) : { text: r.text };
      expect([method, path, r.status, status_['kind'], status_['reason']]).toEqual([method, path, status, 'Status', reason]);
    }
    expect((await core.readNamespacedConfigMap({ namespace: 'default', name: 'target' })).data).toEqual({ a: 'b' });
  });

  it('answers bad input with Status bodies: 404 NotFound, 409 AlreadyExists, 422 Invalid', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e: k8s.ApiException<string>) => ({ code: e.code, body: JSON.parse(e.body) as Record<string, unknown> }));
    expect(await codeOf(core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' }))).toMatchObject({ code: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } });
    expect(await codeOf(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-1' } } }))).toMatchObject({ code: 409, body: { reason: 'AlreadyExists' } });
    expect(await codeOf(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'Bad_Name' }, spec: { containers: [] } } })))
      .toMatchObject({ code: 422, body: { reason: 'Invalid', details: { causes: expect.arrayContaining([expect.objectContaining({ field: 'metadata.name' }), expect.objectContaining({ field: 'spec.containers' })]) } } });
    expect(await codeOf(core.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'x' } } }))).toMatchObject({ code: 404, body: { message: 'namespaces "missing" not found' } });
  });

  it('refuses a client certificate from another cluster CA, and a request without certificate, with 401', async () => {
    const other = await generateClusterPki();
    const foreign = new k8s.KubeConfig();
    foreign.loadFromString(renderKubeconfig({
      clusterName: 'sandbox', server: h.server.url, caCertificatePem: kc.getCurrentCluster()!.caData ? Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString() : '',
      adminCertificatePem: other.adminCertificate, adminKeyPem: other.adminKey,
    }));
    const err = await foreign.makeApiClient(k8s.CoreV1Api).listNode().then(() => undefined, (e: k8s.ApiException<string>) => e);
    // (client-node drops 401 bodies; the Status body is checked on the raw request below)
    expect(err?.code).toBe(401);
    // no certificate at all (anonymous requests are off, as kubeadm configures kube-apiserver)
    const ca = Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString();
    const anonymous = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${h.server.url}/api/v1/nodes`, { ca }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });
});
