import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ipaddr from 'ipaddr.js';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import {
  KUBEADM_CERTS_SECRET, KUBEADM_CERTS_TTL_MS, SHARED_CONTROL_PLANE_FILES, apiServerSans, bootstrapTokenSecret, bootstrapTokenValid, caCertHash,
  NODE_IMAGE, issueApiServerCertificate, issueClientCertificate, kubeadmCertsSecret, newBootstrapToken, openKubeadmCertsSecret, renderKubeconfig,
} from '@skyweave/bootstrap';
import { KubeSim, KubeSimOptions, SystemClock } from '@skyweave/kube-sim';
import { ObjectApi } from './objects';
import { BUILTIN_TYPES, ResourceRegistry } from './resources';
import { KubeApiServer, startKubeApiServer } from './server';
import { MemoryKubeStore } from './store';
import type { KubeObject } from './types';
import { ApiKubeObjects } from './sim-objects';

/*
 * What `kubeadm` does on a sandbox VM (docs/kube-sandbox.md, "On the sandbox's VMs"). The sandbox image has no
 * kubelet, container runtime or etcd, so its `kubeadm` hands the work to the sandbox, which keeps one control plane per
 * cluster: the cluster's state (a MemoryKubeStore, etcd's part), kube-sim (scheduler, controllers, one kubelet per
 * joined VM) and one API server per master, all sharing that state. The state lives while one master lives, as a
 * stacked etcd's quorum would (a single-master cluster loses it with its master). Behaviour follows kubeadm's own
 * (source: `kubeadm init` / `kubeadm join` reference pages, https://kubernetes.io/docs/reference/setup-tools/kubeadm/,
 * and "Creating Highly Available Clusters with kubeadm"): the checks it makes and the errors it prints are kubeadm's,
 * so a platform bug that would fail on a real VM fails here too.
 */

/** The VM a kubeadm runs on, as the sandbox knows it (the hardware and the cloud's metadata). */
export interface SandboxMachine {
  cloud: string;
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  /** The VM's own file system root on this host (absolute VM paths resolve under it). */
  fsRoot: string;
  /** The instance type's vCPUs and memory (MiB), as the kernel would report them to kubelet (cadvisor). */
  vcpu: number;
  memoryMiB: number;
  instanceType: string;
  /** `amd64` or `arm64`. */
  arch: string;
  /** Cloud-specific provider id (`aws:///us-east-1a/i-0…`), as a cloud controller manager would set it. */
  providerID?: string;
}

/** What a kubeadm command gives back: exit code and output, as the process would print them. */
export interface KubeadmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of the sandbox's control planes. */
export interface SandboxControlPlanesOptions {
  /** kube-sim timings (kubelet start delay, node grace period, default tolerations); defaults are Kubernetes'. */
  sim?: KubeSimOptions;
  /** API server bind address (default 127.0.0.1): the sandbox's proxy dials it. */
  host?: string;
  /** One line per notable change (a control plane started, a master gone, a kubelet stopped). */
  log?: (line: string) => void;
  /** Watch bookmark interval of the API servers, seconds (default 60). */
  bookmarkIntervalSeconds?: number;
  /**
   * The VMs' clock, ms since the epoch (default Date.now): bootstrap token and uploaded-certificate lifetimes, and
   * the validity of the certificates kubeadm makes, are judged and set by it. The sandbox's admin API moves it
   * (`POST /admin/clock`) so a test can live through a token's day or a certificate's year.
   */
  clock?: () => number;
}

interface Master {
  vm: SandboxMachine;
  nodeName: string;
  advertiseAddress: string;
  server: KubeApiServer;
}

interface ClusterControlPlane {
  caHash: string;
  caCertificate: string;
  caKey: string;
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  /** ClusterConfiguration `apiServer.certSANs`: the extra names every master's API server certificate carries. */
  certSans: string[];
  /** `networking.podSubnet`: node pod ranges are /24s of it, handed out in order (kube-controller-manager's range allocator). */
  podSubnet: string;
  podCidrs: Map<string, string>;
  store: MemoryKubeStore;
  /** The API's object layer on `store`: bootstrap token and kubeadm-certs Secrets are written and read through it. */
  api: ObjectApi;
  sim: KubeSim;
  masters: Map<string, Master>;
  /** instance id → node name, for every VM whose kubelet joined. */
  kubelets: Map<string, string>;
}

const PKI = '/etc/kubernetes/pki';
const SECRETS = BUILTIN_TYPES.find((t) => t.resource === 'secrets' && !t.group)!;
/** The file kubeadm's preflight refuses to overwrite on a node that already joined, and the static pod manifest of a master. */
const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
/** kubelet's rotated client certificate and key (one PEM file), as kubelet keeps it. */
const KUBELET_CLIENT_PEM = '/var/lib/kubelet/pki/kubelet-client-current.pem';
const ADMIN_CONF = '/etc/kubernetes/admin.conf';
const API_SERVER_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';

class KubeadmError extends Error {}

const fail = (message: string): never => {
  throw new KubeadmError(message);
};

/** Kubernetes' duration strings as kubeadm's token TTL uses them (`24h0m0s`, `2h`, `90m`), in ms. */
function durationMs(s: string): number {
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let total = 0;
  let matched = '';
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * { h: 3600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    matched += m[0];
  }
  if (!s || matched !== s) fail(`invalid duration ${JSON.stringify(s)}`);
  return total;
}

type Doc = Record<string, unknown>;
const rec = (v: unknown): Doc => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** kubelet flags from `nodeRegistration.kubeletExtraArgs` (v1beta4: a list of `{name, value}`). */
function kubeletArgs(nodeRegistration: Doc): Record<string, string> {
  const out: Record<string, string> = {};
  const args = nodeRegistration['kubeletExtraArgs'];
  if (Array.isArray(args)) for (const a of args) if (str(rec(a)['name'])) out[String(rec(a)['name'])] = String(rec(a)['value'] ?? '');
  return out;
}

/** `--node-labels k=v,k=v`. */
function parseLabels(arg: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (arg ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    out[i < 0 ? pair : pair.slice(0, i)] = i < 0 ? '' : pair.slice(i + 1);
  }
  return out;
}

/**
 * The control planes of the sandbox's clusters, keyed by their CA (a cluster is its CA, as kubeadm's discovery pins
 * it). Called by the sandbox image's `kubeadm` (see `kubeadm`), and by the VM runtime when VMs boot and stop.
 */
export class SandboxControlPlanes {
  private readonly clusters = new Map<string, ClusterControlPlane>();
  /** instance id → CA hash of the cluster the VM belongs to. */
  private readonly vms = new Map<string, string>();
  private readonly log: (line: string) => void;
  /** instance id → the advertise address its API server had (a restarted master serves on it again). */
  private readonly advertiseAddresses = new Map<string, string>();

  private readonly clock: () => number;

  constructor(private readonly opts: SandboxControlPlanesOptions = {}) {
    this.log = opts.log ?? (() => undefined);
    this.clock = opts.clock ?? Date.now;
  }

  private now(): Date {
    return new Date(this.clock());
  }

  /**
   * Runs `kubeadm <argv>` on `vm`: `init --config F [--upload-certs]`, `join --config F`, `upgrade apply -y vX.Y.Z`,
   * `upgrade node`, `certs renew apiserver|admin.conf|all`, `certs check-expiration [-o json]`, `version`. Never throws: a failure is exit code 1 with kubeadm's error on stderr.
   */
  async kubeadm(vm: SandboxMachine, argv: readonly string[]): Promise<KubeadmResult> {
    try {
      const [cmd, sub] = argv;
      const config = argv.includes('--config') ? argv[argv.indexOf('--config') + 1] : undefined;
      switch (cmd) {
        case 'init': return ok(await this.init(vm, this.readConfig(vm, config), argv.includes('--upload-certs')));
        case 'join': return ok(await this.join(vm, this.readConfig(vm, config)));
        case 'upgrade':
          if (sub === 'apply') return ok(await this.upgrade(vm, argv.slice(2).find((a) => /^v?\d+\.\d+\.\d+$/.test(a)), true));
          if (sub === 'node') return ok(await this.upgrade(vm, undefined, false));
          return fail(`unknown command "${sub ?? ''}" for "kubeadm upgrade"`);
        case 'certs':
          if (sub === 'renew') return ok(await this.renewCertificates(vm, argv[2]));
          if (sub === 'check-expiration') return ok(this.checkExpiration(vm, outputFormat(argv)));
          return fail(`unknown command "${sub ?? ''}" for "kubeadm certs"`);
        case 'version': return ok('kubeadm version: &version.Info{Major:"1", Minor:"32", GitVersion:"v1.32.0-skyweave-sandbox"}\n');
        default: return fail(`unknown command "${cmd ?? ''}" for "kubeadm" (the sandbox's kubeadm does init, join, upgrade, certs and version)`);
      }
    } catch (e) {
      return { code: 1, stdout: '', stderr: `${e instanceof KubeadmError ? '' : 'sandbox: '}${(e as Error).message}\n` };
    }
  }

  /** Parses the `--config` file (a path on this host, inside the VM's root) into its documents by kind. */
  private readConfig(vm: SandboxMachine, file: string | undefined): Map<string, Doc> {
    if (!file) return fail('the sandbox\'s kubeadm needs --config');
    const resolved = path.resolve(file);
    if (!resolved.startsWith(path.resolve(vm.fsRoot) + path.sep)) return fail(`open ${file}: no such file or directory`);
    if (!existsSync(resolved)) return fail(`unable to read config from "${file}": open ${file}: no such file or directory`);
    const docs = new Map<string, Doc>();
    for (const d of parseAllDocuments(readFileSync(resolved, 'utf8'), { version: '1.1' })) {
      if (d.errors.length) fail(`error converting YAML to JSON: ${d.errors[0].message}`);
      const o = rec(d.toJS());
      if (str(o['kind'])) docs.set(String(o['kind']), o);
    }
    return docs;
  }

  private vmFile(vm: SandboxMachine, file: string): string {
    return path.join(vm.fsRoot, file);
  }

  private writeVmFile(vm: SandboxMachine, file: string, content: string, mode = 0o600): void {
    const target = this.vmFile(vm, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content, { mode });
  }

  /** kubeadm's preflight: a node that already joined (or a master already serving) is refused. */
  private preflight(vm: SandboxMachine, master: boolean): void {
    const errors: string[] = [];
    if (existsSync(this.vmFile(vm, KUBELET_CONF))) errors.push(`\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: ${KUBELET_CONF} already exists`);
    if (master && existsSync(this.vmFile(vm, API_SERVER_MANIFEST))) errors.push(`\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: ${API_SERVER_MANIFEST} already exists`);
    if (errors.length) fail(`error execution phase preflight: [preflight] Some fatal errors occurred:\n${errors.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``);
  }

  private async init(vm: SandboxMachine, docs: Map<string, Doc>, uploadCerts: boolean): Promise<string> {
    const initCfg = docs.get('InitConfiguration') ?? fail('no InitConfiguration in the config file');
    const clusterCfg = docs.get('ClusterConfiguration') ?? {};
    const reg = rec(initCfg['nodeRegistration']);
    const nodeName = str(reg['name']) ?? fail('nodeRegistration.name is required');
    this.preflight(vm, true);
    const pki = (f: string) => {
      const p = this.vmFile(vm, `${PKI}/${f}`);
      return existsSync(p) ? readFileSync(p, 'utf8') : fail(`[certs] ${f} is missing: the sandbox's kubeadm uses the PKI written to ${PKI} (it makes no CA of its own)`);
    };
    const caCertificate = pki('ca.crt');
    const caHash = caCertHash(caCertificate);
    const existing = this.clusters.get(caHash);
    if (existing?.masters.size) fail(`[init] a control plane with this CA already runs on ${[...existing.masters.values()].map((m) => m.nodeName).join(', ')}: kubeadm init would make a second cluster; join it instead`);
    const advertiseAddress = str(rec(initCfg['localAPIEndpoint'])['advertiseAddress']) ?? vm.privateIp;
    const controlPlaneEndpoint = str(clusterCfg['controlPlaneEndpoint']) ?? `${advertiseAddress}:6443`;
    const store = new MemoryKubeStore();
    const api = new ObjectApi(store, new ResourceRegistry());
    await api.seed();
    const sim = new KubeSim(new ApiKubeObjects(api, store), new SystemClock(), {
      ...this.opts.sim,
      onError: this.opts.sim?.onError ?? ((component, err) => this.log(`kube-sim ${component}: ${(err as Error).message}`)),
    });
    const cp: ClusterControlPlane = {
      caHash, caCertificate, caKey: pki('ca.key'),
      clusterName: str(clusterCfg['clusterName']) ?? 'kubernetes',
      kubernetesVersion: str(clusterCfg['kubernetesVersion']) ?? 'v1.32.0',
      controlPlaneEndpoint,
      certSans: (Array.isArray(rec(clusterCfg['apiServer'])['certSANs']) ? (rec(clusterCfg['apiServer'])['certSANs'] as unknown[]) : []).map(String),
      podSubnet: str(rec(clusterCfg['networking'])['podSubnet']) ?? '10.244.0.0/16',
      podCidrs: new Map(),
      store, api, sim, masters: new Map(), kubelets: new Map(),
    };
    // kubeadm init's bootstrap-token phase: the InitConfiguration's tokens as bootstrap token Secrets
    for (const t of Array.isArray(initCfg['bootstrapTokens']) ? initCfg['bootstrapTokens'] : []) {
      const token = str(rec(t)['token']) ?? fail('bootstrapTokens[].token is required');
      await api.create(SECRETS, 'kube-system', bootstrapTokenSecret(token, new Date(this.clock() + durationMs(str(rec(t)['ttl']) ?? '24h0m0s')), 'The default bootstrap token generated by \'kubeadm init\'.'));
    }
    if (uploadCerts) {
      const key = str(initCfg['certificateKey']) ?? fail('--upload-certs needs a certificateKey');
      if (!/^[0-9a-f]{64}$/.test(key)) fail('[upload-certs] the certificate key must be 32 bytes, hex-encoded');
      // upload-certs: the shared files encrypted with the key, owned by a 2 h token so they go when it expires
      const owner = await api.create(SECRETS, 'kube-system', bootstrapTokenSecret(newBootstrapToken(), new Date(this.clock() + KUBEADM_CERTS_TTL_MS), 'Proxy for managing TTL for the kubeadm-certs secret'));
      await api.create(SECRETS, 'kube-system', kubeadmCertsSecret(Object.fromEntries(SHARED_CONTROL_PLANE_FILES.map((f) => [f, pki(f)])), key, { name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '' }));
    }
    sim.start();
    this.clusters.set(caHash, cp);
    try {
      // certificates are made on the thread pool: the kubelet's while the API server starts
      const kubeletCred = this.kubeletCredential(cp, reg);
      await this.startMaster(cp, vm, nodeName, advertiseAddress, { certificate: pki('apiserver.crt'), key: pki('apiserver.key') });
      await this.startKubelet(cp, vm, reg, true, kubeletCred);
    } catch (e) {
      for (const m of cp.masters.values()) await m.server.close();
      cp.masters.clear();
      this.dropIfMasterless(cp);
      throw e;
    }
    this.log(`control plane of ${cp.clusterName} initialised on ${nodeName} (${vm.cloud}/${vm.instanceId})`);
    return `[init] Using Kubernetes version: ${cp.kubernetesVersion}\n...\nYour Kubernetes control-plane has initialized successfully!\n`;
  }

  private async join(vm: SandboxMachine, docs: Map<string, Doc>): Promise<string> {
    const cfg = docs.get('JoinConfiguration') ?? fail('no JoinConfiguration in the config file');
    const reg = rec(cfg['nodeRegistration']);
    const nodeName = str(reg['name']) ?? fail('nodeRegistration.name is required');
    const discovery = rec(rec(cfg['discovery'])['bootstrapToken']);
    const endpoint = str(discovery['apiServerEndpoint']) ?? fail('discovery.bootstrapToken.apiServerEndpoint is required');
    const token = str(discovery['token']) ?? fail('discovery.bootstrapToken.token is required');
    const hashes = Array.isArray(discovery['caCertHashes']) ? discovery['caCertHashes'].map(String) : [];
    const controlPlane = cfg['controlPlane'] !== undefined ? rec(cfg['controlPlane']) : undefined;
    this.preflight(vm, !!controlPlane);
    const [host, port] = splitHostPort(endpoint);
    // the endpoint, dialled from this VM (its hosts file, its API server proxy), must reach a live master's API
    // server; overlay addresses repeat across clusters, so discovery's CA pin tells which cluster it reached
    const reached = this.reachable(host, port, { instanceId: vm.instanceId, fsRoot: vm.fsRoot });
    const cp = reached.find((c) => hashes.includes(c.cp.caHash))?.cp ?? reached[0]?.cp;
    if (!cp) return fail(`error execution phase preflight: couldn't validate the identity of the API Server: Get "https://${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp ${endpoint}: connect: connection refused`);
    if (!hashes.includes(cp.caHash)) fail(`error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${cp.caHash}" are pinned`);
    const id = token.split('.')[0];
    // discovery: cluster-info is signed with the token's secret only while its bootstrap token Secret is valid
    if (!bootstrapTokenValid(await this.secret(cp, `bootstrap-token-${id}`), token, this.now())) {
      fail(`error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${id}"`);
    }
    const kubeletCred = this.kubeletCredential(cp, reg);
    kubeletCred.catch(() => undefined); // awaited below; a join refused before then must not leave it unhandled
    if (controlPlane) {
      const key = str(controlPlane['certificateKey']) ?? fail('controlPlane.certificateKey is required to download the certificates');
      // kubeadm-certs goes with the token that owns it (the token cleaner deletes expired tokens, the garbage collector the rest)
      const certs = await this.secret(cp, KUBEADM_CERTS_SECRET);
      const owner = certs?.metadata.ownerReferences?.[0];
      const ownerSecret = owner ? await this.secret(cp, owner.name) : undefined;
      const ownerValid = !owner || (ownerSecret !== undefined && ownerSecret.metadata.uid === owner.uid && bootstrapTokenValid(ownerSecret, tokenOf(ownerSecret), this.now()));
      if (!certs || !ownerValid) fail('error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one');
      let files: Record<string, string> = {};
      try {
        files = openKubeadmCertsSecret(certs as { data?: Record<string, string> }, key);
      } catch (e) {
        fail(`error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: ${(e as Error).message}`);
      }
      for (const [f, content] of Object.entries(files)) this.writeVmFile(vm, `${PKI}/${f}`, content, f.endsWith('.key') ? 0o600 : 0o644);
      const advertiseAddress = str(rec(controlPlane['localAPIEndpoint'])['advertiseAddress']) ?? vm.privateIp;
      // kubeadm makes this master's own serving certificate from the downloaded CA, with what kubeadm puts in it
      // (certs.GetAPIServerAltNames): the kubernetes names, the node name, the service IP, the advertise address, the
      // control-plane endpoint and the ClusterConfiguration's certSANs — not the VM's own private or public IPs
      const endpointHost = splitHostPort(cp.controlPlaneEndpoint)[0];
      const sans = apiServerSans({
        nodeName, masterAddresses: [advertiseAddress, ...(ipaddr.isValid(endpointHost) ? [endpointHost] : [])], extraIps: cp.certSans.filter((x) => ipaddr.isValid(x)),
        extraDnsNames: [...(ipaddr.isValid(endpointHost) ? [] : [endpointHost]), ...cp.certSans.filter((x) => !ipaddr.isValid(x))],
      });
      const serving = await issueApiServerCertificate({ certificate: cp.caCertificate, key: cp.caKey }, sans, this.now());
      this.writeVmFile(vm, `${PKI}/apiserver.crt`, serving.certificate, 0o644);
      this.writeVmFile(vm, `${PKI}/apiserver.key`, serving.key);
      await this.startMaster(cp, vm, nodeName, advertiseAddress, serving);
    }
    this.vms.set(vm.instanceId, cp.caHash);
    await this.startKubelet(cp, vm, reg, !!controlPlane, kubeletCred);
    this.log(`${nodeName} (${vm.cloud}/${vm.instanceId}) joined ${cp.clusterName}${controlPlane ? ' as a control-plane node' : ''}`);
    return `[preflight] Running pre-flight checks\n...\nThis node has joined the cluster${controlPlane ? ' and a new control plane instance was created' : ''}.\n`;
  }

  /** `kubeadm upgrade apply vX` (a master: the cluster's version) / `upgrade node`: the kubelet runs the new version. */
  private async upgrade(vm: SandboxMachine, version: string | undefined, apply: boolean): Promise<string> {
    const cp = this.clusterOf(vm.instanceId) ?? fail('[upgrade/config] FATAL: unable to fetch the kubeadm-config ConfigMap: this node is not part of a cluster');
    if (apply) {
      if (!cp.masters.has(vm.instanceId)) fail('[upgrade] FATAL: "kubeadm upgrade apply" must be run on a control-plane node');
      cp.kubernetesVersion = version?.startsWith('v') ? version : `v${version ?? fail('[upgrade/version] FATAL: the version to upgrade to is required')}`;
    }
    const name = cp.kubelets.get(vm.instanceId);
    const kubelet = name ? cp.sim.kubelet(name) : undefined;
    if (kubelet) await cp.sim.joinNode({ ...kubelet.machine, kubeletVersion: cp.kubernetesVersion });
    return apply ? `[upgrade/successful] SUCCESS! Your cluster was upgraded to "${cp.kubernetesVersion}". Enjoy!\n` : '[upgrade] The configuration for this node was successfully updated!\n';
  }

  /**
   * `kubeadm certs renew <name>` on a master ("Certificate Management with kubeadm", "Manual certificate renewal"):
   * `apiserver` and `admin.conf` (the two the platform renews), or `all` (here: those two). Each is issued anew by the
   * cluster CA for one year from the VM's clock, with a new key and the old certificate's subject and SANs (kubeadm
   * takes the existing certificate as the authority for its attributes). `admin.conf` keeps every other field of the
   * file. The sandbox's API server serves the renewed `apiserver.crt` at once, as kube-apiserver would once its static
   * pod restarted (the operator's step after `certs renew`; on the sandbox VM only recorded).
   */
  private async renewCertificates(vm: SandboxMachine, which: string | undefined): Promise<string> {
    const cp = this.clusterOf(vm.instanceId);
    const master = cp?.masters.get(vm.instanceId);
    if (!cp || !master) return fail('[renew] FATAL: failed to load the kubeadm configuration: this node is not a control-plane node of a cluster');
    const names = which === 'all' ? ['admin.conf', 'apiserver'] : which === 'apiserver' || which === 'admin.conf' ? [which] : fail(`unknown command "${which ?? ''}" for "kubeadm certs renew" (the sandbox's kubeadm renews apiserver, admin.conf and all)`);
    const ca = { certificate: cp.caCertificate, key: cp.caKey };
    const lines: string[] = [];
    for (const name of names) {
      if (name === 'apiserver') {
        const old = new X509Certificate(this.readVmFile(vm, `${PKI}/apiserver.crt`));
        const renewed = await issueApiServerCertificate(ca, sansOf(old), this.now());
        this.writeVmFile(vm, `${PKI}/apiserver.crt`, renewed.certificate, 0o644);
        this.writeVmFile(vm, `${PKI}/apiserver.key`, renewed.key);
        master.server.setServingCertificate(renewed.certificate, renewed.key);
        lines.push('certificate for serving the Kubernetes API renewed');
      } else {
        const conf = parseYaml(this.readVmFile(vm, ADMIN_CONF)) as { users?: { user?: Record<string, string> }[] };
        const user = conf.users?.[0]?.user ?? fail(`[renew] ${ADMIN_CONF} has no user`);
        const old = new X509Certificate(Buffer.from(user['client-certificate-data'] ?? '', 'base64'));
        const subject = subjectOf(old);
        const renewed = await issueClientCertificate(ca, { commonName: subject.CN[0] ?? 'kubernetes-admin', organizations: subject.O }, this.now());
        user['client-certificate-data'] = Buffer.from(renewed.certificate).toString('base64');
        user['client-key-data'] = Buffer.from(renewed.key).toString('base64');
        this.writeVmFile(vm, ADMIN_CONF, stringifyYaml(conf, { version: '1.1' }));
        lines.push('certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed');
      }
    }
    return `[renew] Reading configuration from the cluster...\n\n${lines.join('\n')}\n\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n`;
  }

  /**
   * `kubeadm certs check-expiration [-o json]` on a master: the certificates the sandbox's control plane has on this
   * VM (`admin.conf`, `apiserver`; a real master lists nine more, of components the sandbox does not run) and the CA,
   * with their expiry and the time left by the VM's clock. `-o json` prints kubeadm's `CertificateExpirationInfo`
   * (`output.kubeadm.k8s.io/v1alpha3`: `certificates[].name`, `expirationDate`, `residualTime` in seconds,
   * `certificateAuthority`, `externallyManaged`, `missing`); otherwise kubeadm's table.
   */
  private checkExpiration(vm: SandboxMachine, output: string): string {
    const cp = this.clusterOf(vm.instanceId);
    if (!cp || !cp.masters.has(vm.instanceId)) return fail('[check-expiration] error reading configuration from the Cluster: this node is not a control-plane node of a cluster');
    const now = this.clock();
    const adminData = (parseYaml(this.readVmFile(vm, ADMIN_CONF)) as { users?: { user?: Record<string, string> }[] }).users?.[0]?.user?.['client-certificate-data'] ?? '';
    const expiry = (pem: string | Buffer) => new Date(new X509Certificate(pem).validTo);
    const certs = [
      { name: 'admin.conf', expires: expiry(Buffer.from(adminData, 'base64')) },
      { name: 'apiserver', expires: expiry(this.readVmFile(vm, `${PKI}/apiserver.crt`)) },
    ];
    const caExpires = expiry(cp.caCertificate);
    const residual = (d: Date) => Math.max(0, Math.floor((d.getTime() - now) / 1000));
    const rfc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (output === 'json') {
      return `${JSON.stringify({
        kind: 'CertificateExpirationInfo', apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
        certificates: certs.map((c) => ({ name: c.name, expirationDate: rfc(c.expires), residualTime: residual(c.expires), certificateAuthority: 'ca', externallyManaged: false, missing: false })),
        certificateAuthorities: [{ name: 'ca', expirationDate: rfc(caExpires), residualTime: residual(caExpires), externallyManaged: false, missing: false }],
      }, null, 2)}\n`;
    }
    if (output !== 'text') fail(`invalid output format: ${output}`);
    const days = (d: Date) => `${Math.floor(residual(d) / 86400)}d`;
    const when = (d: Date) => d.toUTCString().replace(/^\w+, /, '');
    return ['CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED',
      ...certs.map((c) => `${c.name.padEnd(27)}${when(c.expires).padEnd(25)}${days(c.expires).padEnd(16)}${'ca'.padEnd(24)}no`),
      '', 'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED',
      `${'ca'.padEnd(24)}${when(caExpires).padEnd(25)}${days(caExpires).padEnd(16)}no`, ''].join('\n');
  }

  private readVmFile(vm: SandboxMachine, file: string): string {
    const p = this.vmFile(vm, file);
    return existsSync(p) ? readFileSync(p, 'utf8') : fail(`open ${file}: no such file or directory`);
  }

  /** A Secret of kube-system, as stored (undefined when absent). */
  private async secret(cp: ClusterControlPlane, name: string): Promise<(KubeObject & { type?: string; data?: Record<string, string> }) | undefined> {
    return (await cp.store.get({ group: '', resource: 'secrets' }, 'kube-system', name)) as (KubeObject & { type?: string; data?: Record<string, string> }) | undefined;
  }

  private clusterOf(instanceId: string): ClusterControlPlane | undefined {
    const hash = this.vms.get(instanceId);
    return hash ? this.clusters.get(hash) : undefined;
  }

  private async startMaster(cp: ClusterControlPlane, vm: SandboxMachine, nodeName: string, advertiseAddress: string, serving: { certificate: string; key: string }): Promise<void> {
    const adminCert = issueClientCertificate({ certificate: cp.caCertificate, key: cp.caKey }, { commonName: 'kubernetes-admin', organizations: ['kubeadm:cluster-admins'] }, this.now());
    const server = await startKubeApiServer({
      port: 0, host: this.opts.host ?? '127.0.0.1', tlsCert: serving.certificate, tlsKey: serving.key, clientCa: cp.caCertificate, store: cp.store,
      version: () => cp.kubernetesVersion,
      ...(this.opts.bookmarkIntervalSeconds ? { bookmarkIntervalSeconds: this.opts.bookmarkIntervalSeconds } : {}),
    });
    cp.masters.set(vm.instanceId, { vm, nodeName, advertiseAddress, server });
    this.advertiseAddresses.set(vm.instanceId, advertiseAddress);
    this.vms.set(vm.instanceId, cp.caHash);
    this.writeVmFile(vm, API_SERVER_MANIFEST, `# kube-apiserver: served by the sandbox at ${server.url} (docs/kube-sandbox.md)\n`);
    const admin = await adminCert;
    this.writeVmFile(vm, ADMIN_CONF, renderKubeconfig({ clusterName: cp.clusterName, server: `https://${cp.controlPlaneEndpoint}`, caCertificatePem: cp.caCertificate, adminCertificatePem: admin.certificate, adminKeyPem: admin.key, userName: 'kubernetes-admin' }));
  }

  /** kubelet: its kubeconfig (`system:node:<name>`), then the Node registered with its labels, pod range and machine. */
  /** kubelet's client certificate (`system:node:<name>`, group `system:nodes`), as kubeadm's kubelet.conf has it. */
  private kubeletCredential(cp: ClusterControlPlane, reg: Doc): Promise<{ certificate: string; key: string }> {
    return issueClientCertificate({ certificate: cp.caCertificate, key: cp.caKey }, { commonName: `system:node:${str(reg['name']) ?? ''}`, organizations: ['system:nodes'] }, this.now());
  }

  private async startKubelet(cp: ClusterControlPlane, vm: SandboxMachine, reg: Doc, controlPlane: boolean, credential?: Promise<{ certificate: string; key: string }>): Promise<void> {
    const nodeName = str(reg['name']) ?? fail('nodeRegistration.name is required');
    const args = kubeletArgs(reg);
    const labels = parseLabels(args['node-labels']);
    const cred = await (credential ?? this.kubeletCredential(cp, reg));
    this.writeVmFile(vm, KUBELET_CONF, renderKubeconfig({ clusterName: cp.clusterName, server: `https://${cp.controlPlaneEndpoint}`, caCertificatePem: cp.caCertificate, adminCertificatePem: cred.certificate, adminKeyPem: cred.key, userName: `system:node:${nodeName}` }));
    // what else a real node has after joining: kubeadm join writes the cluster CA, and kubelet (certificate rotation
    // on, kubeadm's default) keeps its current client certificate and key in one PEM file (node-agent reads its Node
    // with them: apps/node-agent/src/kubelet-api.ts)
    if (!existsSync(this.vmFile(vm, `${PKI}/ca.crt`))) this.writeVmFile(vm, `${PKI}/ca.crt`, cp.caCertificate, 0o644);
    this.writeVmFile(vm, KUBELET_CLIENT_PEM, `${cred.certificate.trimEnd()}\n${cred.key.trimEnd()}\n`);
    const known = new Set(['node.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'skyweave.io/cloud', 'skyweave.io/node-id']);
    await cp.sim.joinNode({
      name: nodeName,
      vcpu: vm.vcpu, memoryMiB: vm.memoryMiB, arch: vm.arch,
      instanceType: labels['node.kubernetes.io/instance-type'] ?? vm.instanceType,
      region: labels['topology.kubernetes.io/region'] ?? '',
      zone: labels['topology.kubernetes.io/zone'] ?? '',
      cloud: labels['skyweave.io/cloud'] ?? vm.cloud,
      nodeId: labels['skyweave.io/node-id'] ?? '',
      extraLabels: Object.fromEntries(Object.entries(labels).filter(([k]) => !known.has(k))),
      controlPlane,
      internalIP: args['node-ip'] ?? vm.privateIp,
      podCIDR: this.podCidr(cp, nodeName),
      kubeletVersion: cp.kubernetesVersion,
      // what the platform's image and user-data install (libs/bootstrap versions.ts), as kubelet would report them
      osImage: `${NODE_IMAGE.distribution} ${NODE_IMAGE.release} LTS`,
      ...(vm.providerID ? { providerID: vm.providerID } : {}),
    }, { connection: this.kubeletConnection(vm) });
    cp.kubelets.set(vm.instanceId, nodeName);
  }

  /** The node's /24 of the pod subnet: kept for its name, else the first one no node holds. */
  private podCidr(cp: ClusterControlPlane, nodeName: string): string {
    const had = cp.podCidrs.get(nodeName);
    if (had) return had;
    const [net, bits] = ipaddr.IPv4.parseCIDR(cp.podSubnet);
    const base = net.toByteArray().reduce((a, b) => a * 256 + b, 0);
    const used = new Set(cp.podCidrs.values());
    for (let i = 0; i < 2 ** (24 - bits); i++) {
      const n = base + i * 256;
      const cidr = `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/24`;
      if (!used.has(cidr)) {
        cp.podCidrs.set(nodeName, cidr);
        return cidr;
      }
    }
    return fail(`no pod range left in ${cp.podSubnet}`);
  }

  /**
   * A VM booted: one that joined before (its kubelet.conf is on its disk) starts its kubelet again, and a master its
   * API server, as systemd would start them on a real VM, if its cluster's control plane still lives.
   */
  async vmBooted(vm: SandboxMachine): Promise<void> {
    const cp = this.clusterOf(vm.instanceId);
    if (!cp || !existsSync(this.vmFile(vm, KUBELET_CONF))) return;
    const master = existsSync(this.vmFile(vm, API_SERVER_MANIFEST));
    const name = cp.kubelets.get(vm.instanceId);
    if (master && !cp.masters.has(vm.instanceId) && name) {
      const read = (f: string) => readFileSync(this.vmFile(vm, `${PKI}/${f}`), 'utf8');
      await this.startMaster(cp, vm, name, this.advertiseAddresses.get(vm.instanceId) ?? vm.privateIp, { certificate: read('apiserver.crt'), key: read('apiserver.key') });
    }
    const kubelet = name ? cp.sim.kubelet(name) : undefined;
    if (kubelet) await cp.sim.joinNode({ ...kubelet.machine }, { connection: this.kubeletConnection(vm) });
  }

  /**
   * Whether `vm`'s kubelet reaches its cluster's API now: the server of its kubelet.conf, dialled from the VM (see
   * `reachable`), leads to a live master of its own cluster. kube-sim's kubelet asks before every heartbeat, so a
   * node whose endpoint goes nowhere turns NotReady, as a real kubelet would.
   */
  private kubeletConnection(vm: SandboxMachine): () => boolean {
    const from = { instanceId: vm.instanceId, fsRoot: vm.fsRoot };
    return () => {
      const cp = this.clusterOf(vm.instanceId);
      let server: URL;
      try {
        const conf = readFileSync(this.vmFile(vm, KUBELET_CONF), 'utf8');
        server = new URL(/^\s*server:\s*(\S+)\s*$/m.exec(conf)?.[1] ?? '');
      } catch {
        return false;
      }
      return !!cp && this.reachable(server.hostname.replace(/^\[|\]$/g, ''), Number(server.port || 443), from).some((r) => r.cp === cp);
    };
  }

  /**
   * The live API servers a TCP connection to `host:port` made on a VM reaches (docs/kube-sandbox.md, "Reaching it"),
   * in the order the VM's network would try them:
   * - `host` is resolved as the VM would: an IPv4 address as is, a name by the VM's `/etc/hosts` (no DNS server knows
   *   the cluster's names), `localhost` as 127.0.0.1;
   * - a loopback address: the VM's own API server on 6443 (a live master's), or the VM's API server proxy when its
   *   HAProxy configuration (`/etc/haproxy/haproxy.cfg`, as node-agent writes it) binds that port: each `server` of its
   *   default backend in order, as HAProxy with health checks and `option redispatch` would pass a connection to a
   *   server that answers (a dead master's is skipped);
   * - another address on 6443: the master that advertises it on the cluster's overlay (the VM's own cluster; any
   *   cluster's for a VM that has not joined one yet), or that has it as its public or private IP.
   * Nothing reached (an empty list) is what the client sees as "connection refused".
   */
  reachable(host: string, port: number, from: { instanceId: string; fsRoot: string }): { cp: ClusterControlPlane; master: Master }[] {
    const ip = resolveOnVm(from.fsRoot, host);
    if (!ip) return [];
    const own = this.clusterOf(from.instanceId);
    if (ip.startsWith('127.')) {
      const self = own?.masters.get(from.instanceId);
      if (port === 6443) return self && own ? [{ cp: own, master: self }] : [];
      return haproxyBackends(from.fsRoot, ip, port).flatMap(([h, p]) => (ipaddr.isValid(h) && !h.startsWith('127.') ? this.direct(h, p, own) : []));
    }
    return this.direct(ip, port, own);
  }

  /** Masters reached at `ip:port` from a VM of `own` (undefined: a VM of no cluster yet). */
  private direct(ip: string, port: number, own: ClusterControlPlane | undefined): { cp: ClusterControlPlane; master: Master }[] {
    if (port !== 6443) return [];
    const clusters = own ? [own] : [...this.clusters.values()];
    const out = clusters.flatMap((cp) => [...cp.masters.values()].filter((m) => m.advertiseAddress === ip).map((master) => ({ cp, master })));
    const byIp = [...this.clusters.values()].flatMap((cp) => [...cp.masters.values()].filter((m) => m.vm.publicIp === ip || m.vm.privateIp === ip).map((master) => ({ cp, master })));
    return [...out, ...byIp];
  }

  /**
   * A VM stopped or was terminated: its kubelet goes silent (the Node turns NotReady after the grace period), its API
   * server stops; when it was the cluster's last master, the cluster's state is gone.
   */
  async vmStopped(instanceId: string): Promise<void> {
    const cp = this.clusterOf(instanceId);
    if (!cp) return;
    const name = cp.kubelets.get(instanceId);
    if (name) cp.sim.stopNode(name);
    const master = cp.masters.get(instanceId);
    if (master) {
      cp.masters.delete(instanceId);
      await master.server.close();
      this.log(`API server of ${cp.clusterName} on ${master.nodeName} stopped`);
    }
    this.dropIfMasterless(cp);
  }

  private dropIfMasterless(cp: ClusterControlPlane): void {
    if (cp.masters.size || this.clusters.get(cp.caHash) !== cp) return;
    cp.sim.stop();
    this.clusters.delete(cp.caHash);
    for (const [id, hash] of this.vms) {
      if (hash !== cp.caHash) continue;
      this.vms.delete(id);
      this.advertiseAddresses.delete(id);
    }
    this.log(`control plane of ${cp.clusterName} gone with its last master: its state is lost`);
  }

  /**
   * Where a connection to `host:port` goes: from a VM of a cluster (`from` with its file system root), as that VM's
   * network routes it (`reachable`: its hosts file and API server proxy); otherwise the API server of the master that
   * has `host` as its public IP, as its advertise address (only from a VM of the same cluster, `from`: the overlay is
   * the cluster's own, and its addresses repeat across clusters), or as its private IP (when only one master it can
   * reach has it). @returns the local address of that master's API server, or undefined.
   */
  route(host: string, port: number, from?: string | { instanceId: string; fsRoot: string }): { host: string; port: number } | undefined {
    const fromInstanceId = typeof from === 'string' ? from : from?.instanceId;
    if (typeof from === 'object' && this.clusterOf(from.instanceId)) {
      // a VM of a cluster dials as its own network routes (its hosts file, its API server proxy)
      const reached = this.reachable(host, port, from)[0];
      if (!reached) return undefined;
      const local = new URL(reached.master.server.url);
      return { host: local.hostname, port: Number(local.port) };
    }
    if (port !== 6443) return undefined;
    const own = fromInstanceId ? this.clusterOf(fromInstanceId) : undefined;
    const masters = own ? [...own.masters.values()] : [...this.clusters.values()].flatMap((c) => [...c.masters.values()]);
    // the overlay is reachable only from the cluster's own VMs
    const candidates = masters.filter((m) => (own && m.advertiseAddress === host) || m.vm.publicIp === host || m.vm.privateIp === host);
    const target = candidates.find((m) => m.vm.publicIp === host) ?? candidates.find((m) => own && m.advertiseAddress === host) ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!target) return undefined;
    const url = new URL(target.server.url);
    return { host: url.hostname, port: Number(url.port) };
  }

  /** Every control plane: cluster name, masters (node, advertise address, local URL) and kubelets (for the admin API). */
  list(): { clusterName: string; caHash: string; kubernetesVersion: string; masters: { nodeName: string; instanceId: string; advertiseAddress: string; url: string }[]; nodes: string[] }[] {
    return [...this.clusters.values()].map((c) => ({
      clusterName: c.clusterName, caHash: c.caHash, kubernetesVersion: c.kubernetesVersion,
      masters: [...c.masters.values()].map((m) => ({ nodeName: m.nodeName, instanceId: m.vm.instanceId, advertiseAddress: m.advertiseAddress, url: m.server.url })),
      nodes: [...c.kubelets.values()],
    }));
  }

  /** Stops every API server and simulation (the sandbox shutting down). */
  async closeAll(): Promise<void> {
    for (const cp of this.clusters.values()) {
      cp.sim.stop();
      await Promise.all([...cp.masters.values()].map((m) => m.server.close()));
    }
    this.clusters.clear();
    this.vms.clear();
  }
}

/** `host:port` (IPv6 in brackets) → [host, port]; the port defaults to 443 (https). */
function splitHostPort(endpoint: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(endpoint);
  return [m?.[1] ?? endpoint, Number(m?.[2] ?? 443)];
}

/**
 * An address for `host` as a VM resolves it: an IPv4 address as is; `localhost` as 127.0.0.1; a name by the first
 * line of the VM's `/etc/hosts` that lists it (getaddrinfo's `files` source); else undefined (no such host).
 */
function resolveOnVm(fsRoot: string, host: string): string | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return host;
  let hosts = '';
  try {
    hosts = readFileSync(path.join(fsRoot, 'etc/hosts'), 'utf8');
  } catch {
    hosts = '';
  }
  for (const line of hosts.split('\n')) {
    const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (addr && names.includes(host) && ipaddr.IPv4.isValidFourPartDecimal(addr)) return addr;
  }
  return host === 'localhost' ? '127.0.0.1' : undefined;
}

/**
 * The servers (`[ip, port]`, in order) of the default backend of the VM's HAProxy frontend bound to `ip:port` (or to
 * `*`/`0.0.0.0` on that port), from `/etc/haproxy/haproxy.cfg`; empty when HAProxy has no such frontend (nothing
 * listens: connection refused). Only what node-agent's configuration uses is read: `frontend`/`backend` sections,
 * `bind`, `default_backend` and `server <name> <ip:port>` lines.
 */
function haproxyBackends(fsRoot: string, ip: string, port: number): [string, number][] {
  let text = '';
  try {
    text = readFileSync(path.join(fsRoot, 'etc/haproxy/haproxy.cfg'), 'utf8');
  } catch {
    return [];
  }
  const sections: { kind: string; name: string; lines: string[][] }[] = [];
  for (const raw of text.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (!words.length) continue;
    if (['global', 'defaults', 'frontend', 'backend', 'listen'].includes(words[0])) sections.push({ kind: words[0], name: words[1] ?? '', lines: [] });
    else sections.at(-1)?.lines.push(words);
  }
  const frontend = sections.find((sec) => sec.kind === 'frontend' && sec.lines.some((l) => l[0] === 'bind' && l.slice(1).some((b) => {
    const [h, p] = splitHostPort(b);
    return Number(p) === port && (h === ip || h === '*' || h === '0.0.0.0' || h === '');
  })));
  const backendName = frontend?.lines.find((l) => l[0] === 'default_backend')?.[1];
  const backend = sections.find((sec) => sec.kind === 'backend' && sec.name === backendName);
  return (backend?.lines ?? []).filter((l) => l[0] === 'server' && l[2]).map((l) => splitHostPort(l[2]));
}

/** The token a bootstrap token Secret holds (`<id>.<secret>`), '' when it holds none. */
function tokenOf(secret: { data?: Record<string, string> }): string {
  const get = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
  return `${get('token-id')}.${get('token-secret')}`;
}

/** `-o json`, `-o=json`, `--output json`, `--experimental-output json` (older kubeadm); default `text`. */
function outputFormat(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const m = /^(?:-o|--output|--experimental-output)(?:=(.*))?$/.exec(argv[i]);
    if (m) return m[1] ?? argv[i + 1] ?? fail('flag needs an argument: -o');
  }
  return 'text';
}

/** The DNS names and IP addresses of a certificate's subjectAltName. */
function sansOf(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const parts = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  return {
    dnsNames: parts.filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4)),
    ipAddresses: parts.filter((p) => p.startsWith('IP Address:')).map((p) => p.slice(11)),
  };
}

/** A certificate subject's CN and O values (Node prints one `KEY=value` per line). */
function subjectOf(cert: X509Certificate): { CN: string[]; O: string[] } {
  const out: { CN: string[]; O: string[] } = { CN: [], O: [] };
  for (const line of cert.subject.split('\n')) {
    const i = line.indexOf('=');
    const k = line.slice(0, i);
    if (k === 'CN' || k === 'O') out[k].push(line.slice(i + 1));
  }
  return out;
}

function ok(stdout: string): KubeadmResult {
  return { code: 0, stdout, stderr: '' };
}
