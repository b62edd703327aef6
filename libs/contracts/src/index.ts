import type { CloudId, JoinAction, MeshPeer } from '@skyweave/domain';

/**
 * NATS subjects (version 1). Events say "look at this now"; commands ask one service to do one idempotent step.
 * Every payload carries `organisationId` so handlers scope their queries.
 */
export const Subjects = {
  /** Event: something about a cluster changed; the reconciler should look at it. */
  ClusterChanged: 'skyweave.v1.cluster.changed',
  /** Command → reconciler: run a full reconcile of the cluster now (POST /v1/clusters/{id}/reconcile). */
  ClusterReconcile: 'skyweave.v1.cluster.reconcile',
  /** Command → network-provisioner: ensure the cluster's network on one cloud. */
  NetworkEnsure: 'skyweave.v1.network.ensure',
  /** Command → network-provisioner: delete the cluster's network on one cloud (after its VMs are gone). */
  NetworkDelete: 'skyweave.v1.network.delete',
  /** Command → node-provisioner: launch one node's VM. */
  NodeLaunch: 'skyweave.v1.node.launch',
  /** Command → node-provisioner: terminate one node's VM. */
  NodeTerminate: 'skyweave.v1.node.terminate',
  /**
   * Event → autoscaler: the cluster's autoscaling policy has a new version (PUT /v1/clusters/{id}/policies). The
   * policy itself is read from `autoscaling_policies` (a newer version may be stored by then).
   */
  AutoscalingPolicyChanged: 'skyweave.v1.autoscaling.policy-changed',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];

export interface ClusterChanged { organisationId: string; clusterId: string; reason: string }
export interface ClusterReconcile { organisationId: string; clusterId: string }
export interface NetworkCommand { organisationId: string; clusterId: string; cloud: CloudId }
export interface NodeCommand { organisationId: string; clusterId: string; nodeId: string }
/** `version`: the policy version stored (1, 2, 3 …). */
export interface AutoscalingPolicyChanged { organisationId: string; clusterId: string; version: number }

/** Payload type per subject. */
export interface Payloads {
  [Subjects.ClusterChanged]: ClusterChanged;
  [Subjects.ClusterReconcile]: ClusterReconcile;
  [Subjects.NetworkEnsure]: NetworkCommand;
  [Subjects.NetworkDelete]: NetworkCommand;
  [Subjects.NodeLaunch]: NodeCommand;
  [Subjects.NodeTerminate]: NodeCommand;
  [Subjects.AutoscalingPolicyChanged]: AutoscalingPolicyChanged;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Validates a payload received for `subject`. @throws Error naming the bad field (the message is then terminated, not retried).
 */
export function parsePayload<S extends Subject>(subject: S, raw: unknown): Payloads[S] {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${subject}: payload is not an object`);
  const o = raw as Record<string, unknown>;
  const need = (k: string, ok: (v: unknown) => boolean) => {
    if (!ok(o[k])) throw new Error(`${subject}: field ${k} is missing or malformed`);
  };
  const uuid = (v: unknown) => typeof v === 'string' && UUID.test(v);
  need('organisationId', uuid);
  need('clusterId', uuid);
  switch (subject) {
    case Subjects.ClusterChanged:
      need('reason', (v) => typeof v === 'string');
      break;
    case Subjects.ClusterReconcile:
      break;
    case Subjects.NetworkEnsure:
    case Subjects.NetworkDelete:
      need('cloud', (v) => v === 'aws' || v === 'gcp' || v === 'azure' || v === 'digitalocean');
      break;
    case Subjects.NodeLaunch:
    case Subjects.NodeTerminate:
      need('nodeId', uuid);
      break;
    case Subjects.AutoscalingPolicyChanged:
      need('version', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1);
      break;
  }
  return o as unknown as Payloads[S];
}

/** Agent API (`/agent/v1`), called by node-agent on each VM. */
export namespace AgentApi {
  /** POST /agent/v1/nodes/{nodeId}/register — `Authorization: Bearer <bootstrap token>` (one-time). */
  /**
   * `registrationId`: a secret the agent makes once (32 random bytes, base64url, kept on its disk before the first
   * call); a retry of a registration whose answer was lost, with the same bootstrap token and id, is answered again
   * (with a new node token) until the node asks to join. Without it, a used bootstrap token is refused.
   */
  export interface RegisterRequest { wireguardPublicKey?: string; privateIp?: string; publicIp?: string; registrationId?: string }
  export interface RegisterResponse {
    nodeToken: string;
    clusterId: string;
    role: 'master' | 'worker';
    nodeName: string;
    /** The node's overlay address from 10.4.0.0/16 (dotted quad); kubelet and the API server advertise it. */
    wireguardAddress: string;
    /**
     * The node's first WireGuard configuration, as `/mesh` answers it right after the registration: the agent brings
     * its interface up from it without a second round trip (absent from older gateways: then it asks `/mesh`).
     */
    mesh?: MeshConfig;
  }
  /** A file the node writes before running kubeadm; `mode` e.g. 0o600. */
  export interface NodeFile { path: string; content: string; mode: number }
  /** POST /agent/v1/nodes/{nodeId}/join — `Authorization: Bearer <node token>`; polled while the answer is `wait`. */
  export interface JoinResponse {
    action: JoinAction;
    /** Seconds to wait before asking again (with `wait`). */
    retryAfterSeconds?: number;
    /** `host:6443` of the control plane (with `initialise` and `join`). */
    controlPlaneEndpoint?: string;
    kubernetesVersion: string;
    podSubnet: string;
    serviceSubnet: string;
    /** kubeadm configuration (YAML documents, `kubeadm.k8s.io/v1beta4`) for `kubeadm init|join --config` (with `initialise` and `join`). */
    kubeadmConfig?: string;
    /** With `initialise`: the cluster's PKI, written under /etc/kubernetes/pki before `kubeadm init` so kubeadm uses it. */
    files?: NodeFile[];
  }
  /** POST /agent/v1/nodes/{nodeId}/joined — the node finished initialising / joining. */
  export interface JoinedRequest { kubeletVersion?: string }

  /**
   * POST /agent/v1/nodes/{nodeId}/mesh — the node's WireGuard configuration, long-polled: answered at once when
   * `revision` differs from the current one (or is absent), else when it changes or the poll window ends.
   */
  export interface MeshRequest { revision?: string }
  export interface MeshConfig {
    /** Opaque; changes whenever anything in this answer changes. */
    revision: string;
    /** The node's own interface: overlay address with prefix (`10.4.0.7/16`), UDP listen port, MTU in bytes. */
    interface: { address: string; listenPort: number; mtu: number };
    peers: MeshPeer[];
    /**
     * How this node reaches the Kubernetes API (issue 11, item 5): `host` (the control-plane endpoint's name) is mapped
     * to 127.0.0.1 in /etc/hosts, where the node's API server proxy listens on `port` and forwards to `apiServers`,
     * every master's `overlay address:6443`, checking their health. Absent before the cluster has a master in the mesh.
     */
    controlPlane?: ControlPlaneAccess;
  }
  /** See `MeshConfig.controlPlane`. */
  export interface ControlPlaneAccess {
    /** e.g. `control-plane.skyweave.internal`. */
    host: string;
    /** Loopback TCP port of the node's API server proxy, e.g. 6444. */
    port: number;
    /** `ip:port` of every master's API server over the mesh, master-0 first (e.g. `10.4.0.1:6443`). */
    apiServers: string[];
  }
  /**
   * Work the platform asks of a node's agent after it joined (cordon and drain before removal or upgrade, the
   * upgrade itself, uncordon after). A master's agent drains and uncordons other nodes (it holds
   * `/etc/kubernetes/admin.conf`); a node's own agent upgrades it.
   */
  /**
   * `renew-certificates` (a master's own agent): `kubeadm certs renew apiserver` and `admin.conf`, the API server's
   * static pod restarted, then `kubeadm certs check-expiration` (kubeadm's "Certificate Management with kubeadm").
   */
  /**
   * `upgrade-agent` (a node's own agent; issue 11, item 3): download `agentPackage.url`, check its SHA-256, install it
   * atomically over the agent's own bundle, report, then exit with AGENT_RESTART_EXIT_CODE so that systemd
   * (`RestartForceExitStatus=75`) starts the new bundle, which sends its version with every call.
   */
  export type OperationKind = 'drain' | 'uncordon' | 'upgrade' | 'renew-certificates' | 'upgrade-agent';
  /** The node-agent bundle an `upgrade-agent` operation installs, from the platform's package manifest. */
  export interface AgentBundle {
    /** The manifest's version, `<release>-<12 hex of the bundle's SHA-256>` (e.g. `0.1.0-1a2b3c4d5e6f`). */
    version: string;
    /**
     * Where to GET it: absolute (`https://…`), or a path (`/v1/agent-packages/<version>/<file>`) on the agent's own
     * API URL (the gateway serves the packages).
     */
    url: string;
    /** SHA-256 of the bundle, 64 lower-case hex digits: the agent installs nothing else. */
    sha256: string;
    /** Size in bytes. */
    bytes: number;
  }
  /**
   * One certificate of a master's kubeadm PKI and when it expires, as `kubeadm certs check-expiration -o json`
   * lists it (`certificates[].name`, `expirationDate`): `apiserver`, `admin.conf`, `apiserver-kubelet-client` …
   */
  export interface CertificateExpiration {
    name: string;
    /** RFC 3339 UTC (`2027-12-03T18:59:05Z`). */
    expiresAt: string;
  }
  export interface NodeOperation {
    /** UUID; reported back in the result. An agent runs each id at most once to completion (results are idempotent). */
    id: string;
    kind: OperationKind;
    /** The Kubernetes node the operation is about (its `metadata.name`, e.g. `sw-1a2b3c4d-worker-2`). */
    targetNodeName: string;
    /** drain: seconds `kubectl drain --timeout` waits for evictions; upgrade: seconds to wait for the node to be Ready again. */
    timeoutSeconds: number;
    /** upgrade: the Kubernetes version to install, `MAJOR.MINOR.PATCH` without `v` (e.g. `1.31.5`). */
    kubernetesVersion?: string;
    /** upgrade: `true` on the first master (`kubeadm upgrade apply`), else `kubeadm upgrade node`. */
    upgradeControlPlane?: boolean;
    /**
     * drain before a removal: `true` ⇒ once drained, the Node object is deleted (`kubectl delete node`), as kubeadm's
     * "Remove the node" steps end (https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/); without a
     * cloud controller manager nothing else would delete it, and a removed node would stay listed NotReady.
     */
    deleteNode?: boolean;
    /** upgrade-agent: the bundle to install. */
    agentPackage?: AgentBundle;
  }
  /**
   * POST /agent/v1/nodes/{nodeId}/operations — the operations this agent should run now, oldest first; long-polled:
   * answered at once when there is one, else when one arrives or the poll window (about 25 s) ends.
   */
  export interface OperationsResponse { operations: NodeOperation[] }
  /** POST /agent/v1/nodes/{nodeId}/operations/{operationId} — the outcome of one operation. */
  export interface OperationResult {
    state: 'Succeeded' | 'Failed';
    /** Why it failed (the failing command and its stderr tail), or what was done. */
    message?: string;
    /** upgrade: the kubelet version now running (`1.31.5`). */
    kubeletVersion?: string;
    /** renew-certificates: the master's certificates and their expiry after the renewal. */
    certificates?: CertificateExpiration[];
    /** upgrade-agent: the version installed (the agent restarts on it after this report). */
    agentVersion?: string;
  }

  /**
   * Header on every call an agent makes with its node token: the node-agent version it runs (the bundle's own
   * `<release>-<12 hex of its SHA-256>`, as the package manifest names versions). The gateway records it on the node
   * when it changes, and completes the node's `upgrade-agent` operations to that version. Absent from agents older
   * than agent upgrades, and from an agent not run from a bundle (from source); `[0-9A-Za-z.+-]{1,64}` else 400.
   */
  export const AGENT_VERSION_HEADER = 'skyweave-agent-version';
  /** The format of AGENT_VERSION_HEADER's value (and of a manifest's version). */
  export const AGENT_VERSION_PATTERN = /^[0-9A-Za-z.+-]{1,64}$/;
  /**
   * The exit status with which an agent that installed a new bundle asks to be started again (`EX_TEMPFAIL` of
   * sysexits.h); its systemd unit lists it in `RestartForceExitStatus=`, and the sandbox's VM image does the same.
   */
  export const AGENT_RESTART_EXIT_CODE = 75;

  /** POST /agent/v1/nodes/{nodeId}/status — what the node learnt since joining. */
  export interface StatusReport {
    /** The node's pod range from Kubernetes node IPAM (e.g. `10.217.3.0/24`), routed to it by its peers. */
    podCidr?: string;
    /** Round trips to peers over WireGuard, in milliseconds; `null` when the peer did not answer. */
    latencies?: { peerNodeId: string; rttMs: number | null }[];
    /** A master: its kubeadm certificates and their expiry (`kubeadm certs check-expiration`), after joining and daily. */
    certificates?: CertificateExpiration[];
  }
}
export * from './identity';
