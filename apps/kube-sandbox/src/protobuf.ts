import { Reader } from 'protobufjs';
import { KubeApiError } from './errors';

/**
 * Decoding of Kubernetes protobuf request bodies (`Content-Type: application/vnd.kubernetes.protobuf`), which kubectl
 * 1.32's typed clients send (`kubectl create deployment` does). Wire format (source: "Kubernetes Protobuf encoding",
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding): the 4-byte magic `k8s\0`, then a
 * `runtime.Unknown` message {1 typeMeta {1 apiVersion, 2 kind}, 2 raw (the object's message), 3 contentEncoding,
 * 4 contentType}. Objects are proto2 messages of the Go types; their field numbers are the `protobuf:"..."` tags of
 * k8s.io/api. This server knows the messages below (the ones kubectl's `create` generators send and `Eviction`), each
 * field by number, JSON name and shape; Go writes every non-pointer field even when empty, so empty values of
 * non-pointer fields are dropped (they mean "unset", as omitempty does in JSON).
 *
 * A kind or a non-empty field this table does not know is refused with 415 UnsupportedMediaType naming it (the
 * client can send JSON instead), never silently dropped. Responses are always JSON.
 */

type Scalar = 's' | 's*' | 'i' | 'i*' | 'b' | 'b*' | 'rs' | 'map' | 'qmap' | 'time' | 'intstr' | 'ignore';
type Field = [name: string, shape: Scalar | { msg: string; rep?: boolean }];

const META: Record<number, Field> = {
  1: ['name', 's'], 2: ['generateName', 's'], 3: ['namespace', 's'], 4: ['selfLink', 'ignore'], 5: ['uid', 's'], 6: ['resourceVersion', 's'], 7: ['generation', 'i'],
  8: ['creationTimestamp', 'time'], 9: ['deletionTimestamp', 'time'], 10: ['deletionGracePeriodSeconds', 'i*'], 11: ['labels', 'map'], 12: ['annotations', 'map'],
  13: ['ownerReferences', { msg: 'OwnerReference', rep: true }], 14: ['finalizers', 'rs'], 17: ['managedFields', 'ignore'],
};

/** Messages by name: field number → [JSON name, shape]. */
const MESSAGES: Record<string, Record<number, Field>> = {
  ObjectMeta: META,
  OwnerReference: { 1: ['kind', 's'], 3: ['name', 's'], 4: ['uid', 's'], 5: ['apiVersion', 's'], 6: ['controller', 'b*'], 7: ['blockOwnerDeletion', 'b*'] },
  LabelSelector: { 1: ['matchLabels', 'map'], 2: ['matchExpressions', { msg: 'LabelSelectorRequirement', rep: true }] },
  LabelSelectorRequirement: { 1: ['key', 's'], 2: ['operator', 's'], 3: ['values', 'rs'] },
  Deployment: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['spec', { msg: 'DeploymentSpec' }], 3: ['status', 'ignore'] },
  DeploymentSpec: {
    1: ['replicas', 'i*'], 2: ['selector', { msg: 'LabelSelector' }], 3: ['template', { msg: 'PodTemplateSpec' }], 4: ['strategy', { msg: 'DeploymentStrategy' }],
    5: ['minReadySeconds', 'i'], 6: ['revisionHistoryLimit', 'i*'], 7: ['paused', 'b'], 9: ['progressDeadlineSeconds', 'i*'],
  },
  DeploymentStrategy: { 1: ['type', 's'], 2: ['rollingUpdate', { msg: 'RollingUpdateDeployment' }] },
  RollingUpdateDeployment: { 1: ['maxUnavailable', 'intstr'], 2: ['maxSurge', 'intstr'] },
  PodTemplateSpec: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['spec', { msg: 'PodSpec' }] },
  PodSpec: {
    2: ['containers', { msg: 'Container', rep: true }], 3: ['restartPolicy', 's'], 4: ['terminationGracePeriodSeconds', 'i*'], 5: ['activeDeadlineSeconds', 'i*'],
    6: ['dnsPolicy', 's'], 7: ['nodeSelector', 'map'], 8: ['serviceAccountName', 's'], 9: ['serviceAccount', 's'], 10: ['nodeName', 's'], 11: ['hostNetwork', 'b'],
    12: ['hostPID', 'b'], 13: ['hostIPC', 'b'], 16: ['hostname', 's'], 17: ['subdomain', 's'], 19: ['schedulerName', 's'], 20: ['initContainers', { msg: 'Container', rep: true }],
    22: ['tolerations', { msg: 'Toleration', rep: true }], 24: ['priorityClassName', 's'], 25: ['priority', 'i*'],
  },
  Container: {
    1: ['name', 's'], 2: ['image', 's'], 3: ['command', 'rs'], 4: ['args', 'rs'], 5: ['workingDir', 's'], 6: ['ports', { msg: 'ContainerPort', rep: true }],
    7: ['env', { msg: 'EnvVar', rep: true }], 8: ['resources', { msg: 'ResourceRequirements' }], 13: ['terminationMessagePath', 's'], 14: ['imagePullPolicy', 's'],
    16: ['stdin', 'b'], 17: ['stdinOnce', 'b'], 18: ['tty', 'b'], 20: ['terminationMessagePolicy', 's'],
  },
  ContainerPort: { 1: ['name', 's'], 2: ['hostPort', 'i'], 3: ['containerPort', 'i'], 4: ['protocol', 's'], 5: ['hostIP', 's'] },
  EnvVar: { 1: ['name', 's'], 2: ['value', 's'] },
  ResourceRequirements: { 1: ['limits', 'qmap'], 2: ['requests', 'qmap'] },
  Toleration: { 1: ['key', 's'], 2: ['operator', 's'], 3: ['value', 's'], 4: ['effect', 's'], 5: ['tolerationSeconds', 'i*'] },
  Namespace: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['spec', { msg: 'NamespaceSpec' }], 3: ['status', 'ignore'] },
  NamespaceSpec: { 1: ['finalizers', 'rs'] },
  ConfigMap: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['data', 'map'], 4: ['immutable', 'b*'] },
  Service: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['spec', { msg: 'ServiceSpec' }], 3: ['status', 'ignore'] },
  ServiceSpec: {
    1: ['ports', { msg: 'ServicePort', rep: true }], 2: ['selector', 'map'], 3: ['clusterIP', 's'], 4: ['type', 's'], 5: ['externalIPs', 'rs'], 7: ['sessionAffinity', 's'],
    8: ['loadBalancerIP', 's'], 10: ['externalName', 's'], 11: ['externalTrafficPolicy', 's'], 12: ['healthCheckNodePort', 'i'], 13: ['publishNotReadyAddresses', 'b'],
  },
  ServicePort: { 1: ['name', 's'], 2: ['protocol', 's'], 3: ['port', 'i'], 4: ['targetPort', 'intstr'], 5: ['nodePort', 'i'] },
  Eviction: { 1: ['metadata', { msg: 'ObjectMeta' }], 2: ['deleteOptions', { msg: 'DeleteOptions' }] },
  DeleteOptions: { 1: ['gracePeriodSeconds', 'i*'], 2: ['preconditions', { msg: 'Preconditions' }], 3: ['orphanDependents', 'b*'], 4: ['propagationPolicy', 's*'], 5: ['dryRun', 'rs'] },
  Preconditions: { 1: ['uid', 's*'], 2: ['resourceVersion', 's*'] },
};

/** Top-level kinds by `apiVersion/kind`. */
const KINDS: Record<string, string> = {
  'apps/v1/Deployment': 'Deployment', 'v1/Namespace': 'Namespace', 'v1/ConfigMap': 'ConfigMap', 'v1/Service': 'Service', 'policy/v1/Eviction': 'Eviction', 'meta.k8s.io/v1/DeleteOptions': 'DeleteOptions', 'v1/DeleteOptions': 'DeleteOptions',
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const unsupported = (what: string) => new KubeApiError(415, 'UnsupportedMediaType', `the sandbox API server cannot decode ${what} from protobuf; send application/json`);

function fields(buf: Uint8Array): { no: number; wire: number; value: Uint8Array | number | bigint }[] {
  const r = Reader.create(buf);
  const out: { no: number; wire: number; value: Uint8Array | number | bigint }[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (wire === 0) out.push({ no: tag >>> 3, wire, value: BigInt(r.int64().toString()) });
    else if (wire === 2) out.push({ no: tag >>> 3, wire, value: r.bytes() });
    else {
      r.skipType(wire);
      out.push({ no: tag >>> 3, wire, value: 0 });
    }
  }
  return out;
}

const text = (v: Uint8Array | number | bigint): string => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v));
const int = (v: Uint8Array | number | bigint): number => Number(v);

function mapEntry(bytes: Uint8Array, valueOf: (v: Uint8Array | number | bigint) => unknown): [string, unknown] {
  let key = '';
  let value: unknown = '';
  for (const f of fields(bytes)) {
    if (f.no === 1) key = text(f.value);
    if (f.no === 2) value = valueOf(f.value);
  }
  return [key, value];
}

function decodeMessage(name: string, buf: Uint8Array): Record<string, unknown> {
  const spec = MESSAGES[name];
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const field = spec[f.no];
    const empty = f.value instanceof Uint8Array ? f.value.length === 0 : BigInt(f.value) === 0n;
    if (!field) {
      if (empty) continue;
      throw unsupported(`field ${f.no} of ${name}`);
    }
    const [key, shape] = field;
    if (typeof shape === 'object') {
      if (!(f.value instanceof Uint8Array)) throw unsupported(`field ${key} of ${name}`);
      const v = decodeMessage(shape.msg, f.value);
      if (shape.rep) out[key] = [...((out[key] as unknown[] | undefined) ?? []), v];
      else if (Object.keys(v).length) out[key] = v;
      continue;
    }
    switch (shape) {
      case 'ignore': break;
      case 's': if (!empty) out[key] = text(f.value); break;
      case 's*': out[key] = text(f.value); break;
      case 'i': if (!empty) out[key] = int(f.value); break;
      case 'i*': out[key] = int(f.value); break;
      case 'b': if (!empty) out[key] = true; break;
      case 'b*': out[key] = !empty; break;
      case 'rs': out[key] = [...((out[key] as string[] | undefined) ?? []), text(f.value)]; break;
      case 'map': case 'qmap': {
        if (!(f.value instanceof Uint8Array)) throw unsupported(`field ${key} of ${name}`);
        // a Quantity is a message {1 string}
        const [k, v] = mapEntry(f.value, shape === 'map' ? text : (q) => (q instanceof Uint8Array ? text(fields(q).find((x) => x.no === 1)?.value ?? new Uint8Array()) : ''));
        out[key] = { ...((out[key] as Record<string, unknown> | undefined) ?? {}), [k]: v };
        break;
      }
      case 'time': {
        if (empty || !(f.value instanceof Uint8Array)) break;
        const seconds = fields(f.value).find((x) => x.no === 1)?.value ?? 0n;
        out[key] = new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
        break;
      }
      case 'intstr': {
        if (!(f.value instanceof Uint8Array)) break;
        const parts = fields(f.value);
        const type = Number(parts.find((x) => x.no === 1)?.value ?? 0n);
        out[key] = type === 1 ? text(parts.find((x) => x.no === 3)?.value ?? new Uint8Array()) : int(parts.find((x) => x.no === 2)?.value ?? 0n);
        break;
      }
    }
  }
  return out;
}

/**
 * Decodes a protobuf request body into the object's JSON form (with `apiVersion` and `kind`).
 * @throws KubeApiError 400 without the `k8s\0` magic or with a malformed message; 415 for a kind or field not known here.
 */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new KubeApiError(400, 'BadRequest', 'protobuf body without the k8s\\0 prefix');
  try {
    let apiVersion = '';
    let kind = '';
    let raw: Uint8Array = new Uint8Array();
    for (const f of fields(body.subarray(4))) {
      if (f.no === 1 && f.value instanceof Uint8Array) {
        for (const t of fields(f.value)) {
          if (t.no === 1) apiVersion = text(t.value);
          if (t.no === 2) kind = text(t.value);
        }
      }
      if (f.no === 2 && f.value instanceof Uint8Array) raw = f.value;
    }
    const message = KINDS[`${apiVersion}/${kind}`];
    if (!message) throw unsupported(`${apiVersion} ${kind}`);
    return { apiVersion, kind, ...decodeMessage(message, raw) };
  } catch (e) {
    if (e instanceof KubeApiError) throw e;
    throw new KubeApiError(400, 'BadRequest', `error decoding protobuf body: ${(e as Error).message}`);
  }
}
