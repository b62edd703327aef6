import * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeHarness, nodeManifest, startHarness, until } from './support';

/**
 * The sandbox API server driven by the real kubectl (v1.32, /usr/bin/kubectl) with a kubeconfig of the shape the
 * product hands out. No scheduler or controllers run here (libs/kube-sim plays them later): where a command needs
 * pods, the test creates them as the ReplicaSet controller and scheduler would (owner references, pods/binding), and
 * plays the kubelet's part in graceful deletion (the final delete with gracePeriodSeconds 0).
 * kubectl behaviours checked against "kubectl reference" (kubectl drain: cordon, evict via the Eviction API,
 * --ignore-daemonsets, --delete-emptydir-data, wait for deletion) and "API Concepts" (server-side tables, apply).
 */
describe('sandbox Kubernetes API with the real kubectl', () => {
  let h: KubeHarness;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let custom: k8s.CustomObjectsApi;

  beforeAll(async () => {
    h = await startHarness();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    // nodes as their kubelets register them
    await core.createNode({ body: nodeManifest('worker-a', '10.4.0.21') as k8s.V1Node });
    await core.createNode({ body: nodeManifest('worker-b', '10.4.0.22') as k8s.V1Node });
  });
  afterAll(async () => {
    await h.close();
  });

  const ok = async (...args: string[]) => {
    const r = await h.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  /** The rows of a kubectl table, split on runs of two or more spaces. */
  const rows = (out: string) => out.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));

  it('kubectl get nodes -o wide prints the server-side table with the wide columns', async () => {
    const table = rows(await ok('get', 'nodes', '-o', 'wide'));
    expect(table[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
    expect(table.slice(1).map((r) => [r[0], r[1], r[2], r[4], r[5], r[6], r[7]])).toEqual([
      ['worker-a', 'Ready', 'worker', 'v1.32.0', '10.4.0.21', '<none>', 'Debian GNU/Linux 12 (bookworm)'],
      ['worker-b', 'Ready', 'worker', 'v1.32.0', '10.4.0.22', '<none>', 'Debian GNU/Linux 12 (bookworm)'],
    ]);
    expect(await ok('get', 'namespaces', '-o', 'name')).toBe('namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n');
  });

  it('kubectl create deployment web --image=nginx --replicas=3 stores the deployment (sent as protobuf)', async () => {
    expect(await ok('create', 'deployment', 'web', '--image=nginx', '--replicas=3')).toBe('deployment.apps/web created\n');
    const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
    expect(d.spec!.replicas).toBe(3);
    expect(d.spec!.selector.matchLabels).toEqual({ app: 'web' });
    expect(d.spec!.template.spec!.containers).toEqual([expect.objectContaining({ name: 'nginx', image: 'nginx' })]);
    expect(d.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    const again = await h.kubectl('create', 'deployment', 'web', '--image=nginx');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('deployments.apps "web" already exists');
  });

  it('kubectl get pods -o wide shows the pods bound to their nodes', async () => {
    // the ReplicaSet controller's and the scheduler's part
    const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
    const rs = await apps.createNamespacedReplicaSet({
      namespace: 'default',
      body: {
        metadata: { name: 'web-7d4b9c', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata!.uid!, controller: true }] },
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: d.spec!.template },
      },
    });
    for (const [i, node] of ['worker-a', 'worker-a', 'worker-b'].entries()) {
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { generateName: 'web-7d4b9c-', labels: { app: 'web', idx: String(i) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: rs.metadata!.uid!, controller: true }] },
          spec: { containers: [{ name: 'nginx', image: 'nginx' }], volumes: i === 0 ? [{ name: 'scratch', emptyDir: {} }] : [] },
        },
      });
      const created = (await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=web,idx=${i}` })).items[0];
      await core.createNamespacedPodBinding({ namespace: 'default', name: created.metadata!.name!, body: { metadata: { name: created.metadata!.name! }, target: { kind: 'Node', name: node } } });
    }
    const table = rows(await ok('get', 'pods', '-o', 'wide'));
    expect(table[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(table.slice(1).map((r) => [r[1], r[2], r[6]]).sort()).toEqual([['0/1', 'Pending', 'worker-a'], ['0/1', 'Pending', 'worker-a'], ['0/1', 'Pending', 'worker-b']]);
    expect(table.slice(1).every((r) => /^web-7d4b9c-[a-z0-9]{5}$/.test(r[0]))).toBe(true);
    expect(rows(await ok('get', 'pods', '--field-selector', 'spec.nodeName=worker-b', '-l', 'app=web'))).toHaveLength(2);
  });

  it('kubectl scale and kubectl set resources write the deployment', async () => {
    expect(await ok('scale', 'deployment', 'web', '--replicas=5')).toBe('deployment.apps/web scaled\n');
    expect((await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' })).spec!.replicas).toBe(5);
    expect(await ok('set', 'resources', 'deployment', 'web', '--limits=cpu=200m,memory=256Mi', '--requests=cpu=100m')).toBe('deployment.apps/web resource requirements updated\n');
    const d = await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
    expect(d.spec!.template.spec!.containers[0].resources).toEqual({ limits: { cpu: '200m', memory: '256Mi' }, requests: { cpu: '100m' } });
    expect(d.metadata!.generation).toBe(3);
    // a patch carrying a stale resourceVersion is refused with 409 Conflict (optimistic concurrency)
    const stale = await h.kubectl('patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"resourceVersion":"1"},"spec":{"replicas":2}}');
    expect(stale.code).toBe(1);
    expect(stale.stderr.trim()).toBe('Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again');
    expect((await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' })).spec!.replicas).toBe(5);
    const wide = rows(await ok('get', 'deployment', 'web', '-o', 'wide'));
    expect(wide[0]).toEqual(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    expect([wide[1][0], wide[1][1], wide[1][5], wide[1][6], wide[1][7]]).toEqual(['web', '0/5', 'nginx', 'nginx', 'app=web']);
  });

  it('kubectl cordon and uncordon set and clear spec.unschedulable', async () => {
    expect(await ok('cordon', 'worker-b')).toBe('node/worker-b cordoned\n');
    expect((await core.readNode({ name: 'worker-b' })).spec!.unschedulable).toBe(true);
    expect(rows(await ok('get', 'node', 'worker-b'))[1][1]).toBe('Ready,SchedulingDisabled');
    expect(await ok('uncordon', 'worker-b')).toBe('node/worker-b uncordoned\n');
    expect((await core.readNode({ name: 'worker-b' })).spec!.unschedulable).toBeUndefined();
  });

  it('kubectl drain --ignore-daemonsets --delete-emptydir-data evicts the node\'s pods and leaves DaemonSet pods', async () => {
    const ds = await apps.createNamespacedDaemonSet({
      namespace: 'kube-system',
      body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'agent' }] } } } },
    });
    await core.createNamespacedPod({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'agent-worker-a', labels: { app: 'agent' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: ds.metadata!.uid!, controller: true }] },
        spec: { nodeName: 'worker-a', containers: [{ name: 'agent', image: 'agent' }] },
      },
    });
    // the kubelet's part: pods marked for deletion on this node are removed once their containers "stopped"
    const kubelet = setInterval(() => {
      void core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-a' }).then(async (l) => {
        for (const p of l.items.filter((x) => x.metadata!.deletionTimestamp)) {
          await core.deleteNamespacedPod({ namespace: p.metadata!.namespace!, name: p.metadata!.name!, gracePeriodSeconds: 0 }).catch(() => undefined);
        }
      }, () => undefined);
    }, 100);
    try {
      const r = await h.kubectl('drain', 'worker-a', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=90s');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('node/worker-a cordoned');
      expect(r.stdout).toContain('node/worker-a drained');
      expect(r.stderr).toContain('Warning: ignoring DaemonSet-managed Pods: kube-system/agent-worker-a');
      expect((r.stdout.match(/evicting pod default\/web-7d4b9c-/g) ?? []).length).toBe(2);
    } finally {
      clearInterval(kubelet);
    }
    const left = (await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-a' })).items.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`);
    expect(left).toEqual(['kube-system/agent-worker-a']);
    expect((await core.readNode({ name: 'worker-a' })).spec!.unschedulable).toBe(true);
    // without --ignore-daemonsets, kubectl refuses to drain a node with DaemonSet pods
    const refused = await h.kubectl('drain', 'worker-a', '--timeout=30s');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot delete DaemonSet-managed Pods');
  });

  it('kubectl delete removes the deployment; its ReplicaSet is collected and its pods marked for deletion (background propagation)', async () => {
    expect(await ok('delete', 'deployment', 'web')).toBe('deployment.apps "web" deleted\n');
    await expect(apps.readNamespacedDeployment({ namespace: 'default', name: 'web' })).rejects.toMatchObject({ code: 404 });
    expect((await apps.listNamespacedReplicaSet({ namespace: 'default' })).items).toEqual([]);
    // the remaining pod was bound, so it is terminating until its kubelet removes it
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
    expect(pods.map((p) => [p.spec!.nodeName, Boolean(p.metadata!.deletionTimestamp)])).toEqual([['worker-b', true]]);
    const missing = await h.kubectl('delete', 'deployment', 'web');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
  });

  it('kubectl apply -f of a CRD, then of an object of it, then get, update and server-side apply', async () => {
    const crd = join(h.dir, 'crd.yaml');
    writeFileSync(crd, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
`);
    expect(await ok('apply', '-f', crd)).toBe('customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n');
    const obj = join(h.dir, 'widget.yaml');
    const widget = (size: number) => `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: default\nspec:\n  size: ${size}\n  color: blue\n`;
    writeFileSync(obj, widget(3));
    expect(await ok('apply', '-f', obj)).toBe('widget.example.com/w1 created\n');
    const table = rows(await ok('get', 'widgets'));
    expect(table[0]).toEqual(['NAME', 'SIZE', 'COLOR', 'AGE']);
    expect(table[1].slice(0, 3)).toEqual(['w1', '3', 'blue']);
    writeFileSync(obj, widget(4));
    expect(await ok('apply', '-f', obj)).toBe('widget.example.com/w1 configured\n');
    expect(await ok('apply', '-f', obj)).toBe('widget.example.com/w1 unchanged\n');
    const stored = await custom.getNamespacedCustomObject({ group: 'example.com', version: 'v1', namespace: 'default', plural: 'widgets', name: 'w1' }) as { spec: Record<string, unknown> };
    expect(stored.spec).toEqual({ size: 4, color: 'blue' });
    expect(rows(await ok('get', 'wg', 'w1'))[1].slice(0, 2)).toEqual(['w1', '4']);
    writeFileSync(obj, widget(5));
    expect(await ok('apply', '--server-side', '-f', obj)).toBe('widget.example.com/w1 serverside-applied\n');
    expect(rows(await ok('get', 'wg', 'w1'))[1].slice(0, 2)).toEqual(['w1', '5']);
    // deleting the CRD deletes its objects
    expect(await ok('delete', '-f', crd)).toBe('customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted\n');
    await until(async () => ((await h.store.list({ group: 'example.com', resource: 'widgets' })).items.length === 0 ? true : undefined), 'widgets removed');
  });

  it('kubectl create namespace, configmap and service (protobuf bodies): stored with defaults, shown by get', async () => {
    expect(await ok('create', 'namespace', 'team-a')).toBe('namespace/team-a created\n');
    expect(await ok('create', 'configmap', 'conf', '-n', 'team-a', '--from-literal=mode=fast')).toBe('configmap/conf created\n');
    expect((await core.readNamespacedConfigMap({ namespace: 'team-a', name: 'conf' })).data).toEqual({ mode: 'fast' });
    expect(await ok('create', 'service', 'nodeport', 'front', '-n', 'team-a', '--tcp=80:8080')).toBe('service/front created\n');
    const svc = await core.readNamespacedService({ namespace: 'team-a', name: 'front' });
    expect(svc.spec!.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(svc.spec!.ports).toEqual([{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30000 }]);
    const table = rows(await ok('get', 'svc', '-n', 'team-a'));
    expect(table[0]).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    expect(table[1].slice(0, 5)).toEqual(['front', 'NodePort', svc.spec!.clusterIP, '<none>', '80:30000/TCP']);
    // deleting the namespace deletes what is in it
    expect(await ok('delete', 'namespace', 'team-a')).toBe('namespace "team-a" deleted\n');
    expect((await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=team-a' })).items).toEqual([]);
    const protectedNs = await h.kubectl('delete', 'namespace', 'kube-system');
    expect(protectedNs.code).toBe(1);
    expect(protectedNs.stderr).toContain('Error from server (Forbidden): namespaces "kube-system" is forbidden: this namespace may not be deleted');
  });

  it('kubectl apply of a built-in kind (create, then configure with a strategic merge patch), and a missing object is NotFound', async () => {
    const file = join(h.dir, 'cm.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: "1"\n  b: "2"\n');
    expect(await ok('apply', '-f', file)).toBe('configmap/settings created\n');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: "1"\n  c: "3"\n');
    expect(await ok('apply', '-f', file)).toBe('configmap/settings configured\n');
    expect((await core.readNamespacedConfigMap({ namespace: 'default', name: 'settings' })).data).toEqual({ a: '1', c: '3' });
    const missing = await h.kubectl('get', 'pod', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
  });
});
