/*
 * The cluster add-ons the platform installs into every cluster through its Kubernetes API (issue 14, item 4): Grafana
 * with Prometheus as its data source, and the Kubernetes dashboard. Both are reached only through the gateway's single
 * sign-on routes (`/clusters/{id}/grafana/`, `/clusters/{id}/dashboard/`, docs/sso-gateway.md), which go through the
 * cluster API server's service proxy; no Service is exposed outside the cluster. Pure templating: applying is
 * libs/kube-view's (`installAddons`, server-side apply by the kube-watcher).
 */
import { ADDRESS_PLAN } from '@skyweave/domain';

/** A Kubernetes object as sent to the API (plain JSON). */
export interface AddonObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Pinned add-on images. Sources:
 * - Grafana: https://github.com/grafana/grafana/releases/tag/v12.2.0 (image `docker.io/grafana/grafana:12.2.0`);
 * - Prometheus: https://github.com/prometheus/prometheus/releases/tag/v3.5.0 (the 3.5 long-term-support release,
 *   image `quay.io/prometheus/prometheus:v3.5.0`);
 * - Kubernetes dashboard: https://github.com/kubernetes/dashboard/releases/tag/v2.7.0, the last release installed from
 *   one manifest (`aio/deploy/recommended.yaml`; 3.x/7.x are Helm charts of five components), image
 *   `docker.io/kubernetesui/dashboard:v2.7.0`.
 * The sandbox recognises these exact images to start its stand-ins (apps/kube-sandbox/src/stand-ins.ts).
 */
export const ADDON_IMAGES = {
  grafana: 'docker.io/grafana/grafana:12.2.0',
  prometheus: 'quay.io/prometheus/prometheus:v3.5.0',
  dashboard: 'docker.io/kubernetesui/dashboard:v2.7.0',
} as const;

/** Where each add-on lives: namespace, Service and port the gateway proxies to (through the API server's service proxy). */
export const ADDON_SERVICES = {
  grafana: { namespace: 'skyweave-monitoring', service: 'grafana', port: 3000 },
  prometheus: { namespace: 'skyweave-monitoring', service: 'prometheus', port: 9090 },
  dashboard: { namespace: 'kubernetes-dashboard', service: 'kubernetes-dashboard', port: 9090 },
} as const;

/**
 * Where Grafana's auth proxy accepts `X-WEBAUTH-USER` from (grafana.ini `[auth.proxy] whitelist`, source addresses):
 * the WireGuard overlay of the address plan (seed 004), i.e. the nodes themselves, where kube-apiserver runs. Source:
 * Grafana docs, "Configure auth proxy authentication" (`whitelist`: "prevent users spoofing the header").
 */
export const GRAFANA_AUTH_PROXY_SOURCES = ADDRESS_PLAN.wireguard;

/** The request header Grafana's auth proxy reads the signed-in user from (grafana.ini `[auth.proxy] header_name`). */
export const GRAFANA_USER_HEADER = 'X-WEBAUTH-USER';

/** The field manager of the platform's server-side applies (`metadata.managedFields[].manager` on a real cluster). */
export const ADDON_FIELD_MANAGER = 'skyweave';

/** Bumped whenever the manifests change, recorded as an annotation on every object (what is installed, at a glance). */
export const ADDONS_REVISION = '1';

/** What the manifests are templated with. */
export interface AddonParams {
  /** The platform's cluster id: the gateway path `/clusters/{clusterId}/grafana/` is Grafana's sub path. */
  clusterId: string;
  /**
   * The gateway's public URL as browsers reach it (e.g. `https://skyweave.example.com`, no trailing slash), for
   * Grafana's `root_url` (absolute links and redirects); absent: `%(protocol)s://%(domain)s`, Grafana's own guess.
   */
  publicUrl?: string;
}

/** The path prefix the gateway serves Grafana under, with a trailing slash (`/clusters/<id>/grafana/`). */
export const grafanaPathPrefix = (clusterId: string): string => `/clusters/${clusterId}/grafana/`;
/** The path prefix the gateway serves the dashboard under, with a trailing slash (`/clusters/<id>/dashboard/`). */
export const dashboardPathPrefix = (clusterId: string): string => `/clusters/${clusterId}/dashboard/`;

const MANAGED = { 'app.kubernetes.io/managed-by': 'skyweave', 'app.kubernetes.io/part-of': 'skyweave-addons' };
const meta = (name: string, namespace: string | undefined, app: string) => ({
  name, ...(namespace ? { namespace } : {}),
  labels: { ...MANAGED, 'app.kubernetes.io/name': app }, annotations: { 'skyweave.io/addons-revision': ADDONS_REVISION },
});

/**
 * Grafana's configuration (grafana.ini): sign-in only through the auth proxy (the gateway sets `X-WEBAUTH-USER` to the
 * user's email, docs/sso-gateway.md), new users signed up as Viewers, no login form or basic auth, served from the
 * gateway's sub path. Source: Grafana docs, "Configure auth proxy authentication" and "Configuration" (`root_url`,
 * `serve_from_sub_path`).
 */
export function grafanaIni(p: AddonParams): string {
  const root = `${p.publicUrl ? p.publicUrl.replace(/\/+$/, '') : '%(protocol)s://%(domain)s'}${grafanaPathPrefix(p.clusterId)}`;
  return [
    '[server]',
    'http_port = 3000',
    `root_url = ${root}`,
    'serve_from_sub_path = true',
    '',
    '[auth]',
    'disable_login_form = true',
    'disable_signout_menu = true',
    '',
    '[auth.basic]',
    'enabled = false',
    '',
    '[auth.anonymous]',
    'enabled = false',
    '',
    '[auth.proxy]',
    'enabled = true',
    `header_name = ${GRAFANA_USER_HEADER}`,
    // only the nodes' mesh addresses may assert a user: the API server's service proxy reaches the pod from its
    // master's WireGuard address (pod ranges are routed over wg0, not masqueraded), while any pod's request comes from
    // the pod range and is refused; a CNI-independent guard where a NetworkPolicy would need an enforcing CNI
    `whitelist = ${GRAFANA_AUTH_PROXY_SOURCES}`,
    'header_property = email',
    'auto_sign_up = true',
    '',
    '[users]',
    'allow_sign_up = false',
    'auto_assign_org_role = Viewer',
    '',
    '[analytics]',
    'reporting_enabled = false',
    'check_for_updates = false',
    '',
  ].join('\n');
}

/** Grafana's data source provisioning file: the cluster's Prometheus, the default data source. */
export function grafanaDatasources(): string {
  const { namespace, service, port } = ADDON_SERVICES.prometheus;
  return [
    'apiVersion: 1',
    'datasources:',
    '  - name: Prometheus',
    '    type: prometheus',
    '    access: proxy',
    `    url: http://${service}.${namespace}.svc:${port}`,
    '    isDefault: true',
    '    editable: false',
    '',
  ].join('\n');
}

/** Prometheus's configuration: itself, and the kubelets' metrics through the API server (the service account's token). */
export function prometheusConfig(): string {
  return [
    'global:',
    '  scrape_interval: 30s',
    'scrape_configs:',
    '  - job_name: prometheus',
    '    static_configs:',
    '      - targets: ["localhost:9090"]',
    '  - job_name: kubernetes-nodes',
    '    scheme: https',
    '    tls_config: { ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt }',
    '    authorization: { credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token }',
    '    kubernetes_sd_configs: [{ role: node }]',
    '    relabel_configs:',
    '      - { target_label: __address__, replacement: kubernetes.default.svc:443 }',
    '      - { source_labels: [__meta_kubernetes_node_name], regex: (.+), target_label: __metrics_path__, replacement: /api/v1/nodes/$1/proxy/metrics }',
    '',
  ].join('\n');
}

function deployment(name: string, namespace: string, app: string, pod: Record<string, unknown>): AddonObject {
  const labels = { 'app.kubernetes.io/name': app };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(name, namespace, app),
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels: { ...MANAGED, ...labels } }, spec: pod } },
  };
}

function service(name: string, namespace: string, app: string, port: number): AddonObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace, app),
    spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': app }, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] },
  };
}

const RESOURCES = (cpu: string, memory: string) => ({ requests: { cpu, memory }, limits: { memory } });
const NON_ROOT = { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

/**
 * Every add-on object, in apply order (namespaces, then access, configuration, workloads, services). Deterministic:
 * the same parameters give the same objects.
 */
export function addonManifests(p: AddonParams): AddonObject[] {
  const mon = ADDON_SERVICES.grafana.namespace;
  const dash = ADDON_SERVICES.dashboard.namespace;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: meta(mon, undefined, 'skyweave-monitoring') },
    { apiVersion: 'v1', kind: 'Namespace', metadata: meta(dash, undefined, 'kubernetes-dashboard') },
    // Prometheus reads nodes and their metrics (kubernetes_sd_configs role node, kubelet metrics via the API's node proxy)
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('prometheus', mon, 'prometheus') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta('skyweave:prometheus', undefined, 'prometheus'),
      rules: [{ apiGroups: [''], resources: ['nodes', 'nodes/metrics', 'nodes/proxy', 'services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('skyweave:prometheus', undefined, 'prometheus'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'skyweave:prometheus' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: mon }],
    },
    // the dashboard acts with its own service account (the gateway sends it no user token): read-only, the built-in `view` role
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('kubernetes-dashboard', dash, 'kubernetes-dashboard') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('skyweave:kubernetes-dashboard-view', undefined, 'kubernetes-dashboard'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'kubernetes-dashboard', namespace: dash }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('prometheus-config', mon, 'prometheus'), data: { 'prometheus.yml': prometheusConfig() } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('grafana-config', mon, 'grafana'), data: { 'grafana.ini': grafanaIni(p) } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('grafana-datasources', mon, 'grafana'), data: { 'datasources.yaml': grafanaDatasources() } },
    deployment('prometheus', mon, 'prometheus', {
      serviceAccountName: 'prometheus',
      securityContext: { runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 },
      containers: [{
        name: 'prometheus', image: ADDON_IMAGES.prometheus,
        args: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus', '--storage.tsdb.retention.time=7d'],
        ports: [{ name: 'http', containerPort: ADDON_SERVICES.prometheus.port }],
        readinessProbe: { httpGet: { path: '/-/ready', port: ADDON_SERVICES.prometheus.port } },
        resources: RESOURCES('100m', '512Mi'), securityContext: NON_ROOT,
        volumeMounts: [{ name: 'config', mountPath: '/etc/prometheus' }, { name: 'data', mountPath: '/prometheus' }],
      }],
      volumes: [{ name: 'config', configMap: { name: 'prometheus-config' } }, { name: 'data', emptyDir: {} }],
    }),
    deployment('grafana', mon, 'grafana', {
      securityContext: { runAsUser: 472, runAsGroup: 472, fsGroup: 472 },
      containers: [{
        name: 'grafana', image: ADDON_IMAGES.grafana,
        ports: [{ name: 'http', containerPort: ADDON_SERVICES.grafana.port }],
        readinessProbe: { httpGet: { path: `${grafanaPathPrefix(p.clusterId)}api/health`, port: ADDON_SERVICES.grafana.port } },
        resources: RESOURCES('100m', '256Mi'), securityContext: NON_ROOT,
        volumeMounts: [
          { name: 'config', mountPath: '/etc/grafana/grafana.ini', subPath: 'grafana.ini' },
          { name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources' },
          { name: 'data', mountPath: '/var/lib/grafana' },
        ],
      }],
      volumes: [{ name: 'config', configMap: { name: 'grafana-config' } }, { name: 'datasources', configMap: { name: 'grafana-datasources' } }, { name: 'data', emptyDir: {} }],
    }),
    deployment('kubernetes-dashboard', dash, 'kubernetes-dashboard', {
      serviceAccountName: 'kubernetes-dashboard',
      containers: [{
        name: 'kubernetes-dashboard', image: ADDON_IMAGES.dashboard,
        // plain HTTP inside the cluster (the API server's service proxy is the only client); the service account's own
        // (read-only) access, since the gateway sends no user token
        args: ['--namespace=kubernetes-dashboard', '--insecure-bind-address=0.0.0.0', `--insecure-port=${ADDON_SERVICES.dashboard.port}`, '--enable-skip-login', '--disable-settings-authorizer'],
        ports: [{ name: 'http', containerPort: ADDON_SERVICES.dashboard.port }],
        resources: RESOURCES('50m', '200Mi'), securityContext: { ...NON_ROOT, readOnlyRootFilesystem: true, runAsUser: 1001, runAsGroup: 2001 },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      }],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    }),
    service('prometheus', mon, 'prometheus', ADDON_SERVICES.prometheus.port),
    service('grafana', mon, 'grafana', ADDON_SERVICES.grafana.port),
    service('kubernetes-dashboard', dash, 'kubernetes-dashboard', ADDON_SERVICES.dashboard.port),
  ];
}
