import { toMilli, toValue } from './quantity';
import { Container, Node, Pod, ResourceList } from './types';

/** Requests the scheduler counts: cpu in millicores, memory in bytes. */
export interface Requests {
  milliCPU: number;
  memory: number;
}

/**
 * Defaults the scheduler scores a container with when it requests no cpu/memory (not used for fitting):
 * 100 millicores and 200 MiB (pkg/scheduler/util `DefaultMilliCPURequest`, `DefaultMemoryRequest`).
 */
export const NON_ZERO_DEFAULTS: Requests = { milliCPU: 100, memory: 200 * 1024 * 1024 };

/** A container's requests; requests missing but limited default to the limit, as API server defaulting does. */
function containerRequests(c: Container, nonZero: boolean): Requests {
  const req: ResourceList = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
  const cpu = req.cpu === undefined ? undefined : toMilli(req.cpu);
  const mem = req.memory === undefined ? undefined : toValue(req.memory);
  return {
    milliCPU: cpu ?? (nonZero ? NON_ZERO_DEFAULTS.milliCPU : 0),
    memory: mem ?? (nonZero ? NON_ZERO_DEFAULTS.memory : 0),
  };
}

const add = (a: Requests, b: Requests): Requests => ({ milliCPU: a.milliCPU + b.milliCPU, memory: a.memory + b.memory });
const max = (a: Requests, b: Requests): Requests => ({ milliCPU: Math.max(a.milliCPU, b.milliCPU), memory: Math.max(a.memory, b.memory) });

/**
 * The pod's effective request, by Kubernetes' rules (k8s.io/component-helpers resource `PodRequests`; KEP-753 for
 * sidecars): the larger of (sum of app containers + sum of restartable init containers) and, for each init container in
 * order, its request plus the restartable init containers started before it; then `spec.overhead` is added.
 * `nonZero`: score with the scheduler's defaults for containers without requests (NON_ZERO_DEFAULTS).
 * Throws InvalidQuantityError for a malformed quantity.
 */
export function podRequests(pod: Pod, nonZero = false): Requests {
  let apps: Requests = { milliCPU: 0, memory: 0 };
  for (const c of pod.spec.containers ?? []) apps = add(apps, containerRequests(c, nonZero));
  let sidecars: Requests = { milliCPU: 0, memory: 0 };
  let initPeak: Requests = { milliCPU: 0, memory: 0 };
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      sidecars = add(sidecars, r);
      initPeak = max(initPeak, sidecars);
    } else {
      initPeak = max(initPeak, add(r, sidecars));
    }
  }
  let total = max(add(apps, sidecars), initPeak);
  const overhead = pod.spec.overhead ?? {};
  total = add(total, { milliCPU: overhead.cpu ? toMilli(overhead.cpu) : 0, memory: overhead.memory ? toValue(overhead.memory) : 0 });
  return total;
}

/** A node's allocatable cpu (millicores), memory (bytes) and pods (count) from `status.allocatable`. */
export function nodeAllocatable(node: Node): Requests & { pods: number } {
  const a = node.status?.allocatable ?? {};
  return {
    milliCPU: a.cpu ? toMilli(a.cpu) : 0,
    memory: a.memory ? toValue(a.memory) : 0,
    pods: a.pods ? toValue(a.pods) : 0,
  };
}

/** Whether a pod still holds its node's resources: bound and not finished (Succeeded/Failed pods release them). */
export function holdsResources(pod: Pod): boolean {
  return !!pod.spec.nodeName && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}
