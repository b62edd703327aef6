import { PatchType } from './objects';
import { jsonPatch, mergePatch, strategicMerge } from './patch';

/** Applies a PATCH body to an autoscaling/v1 Scale (`kubectl scale` sends a JSON merge patch `{"spec":{"replicas":N}}`). */
export function applyScalePatch(scale: unknown, type: PatchType, patch: unknown): unknown {
  switch (type) {
    case 'application/json-patch+json': return jsonPatch(scale, patch);
    case 'application/merge-patch+json': return mergePatch(scale, patch);
    case 'application/strategic-merge-patch+json':
    case 'application/apply-patch+yaml': return strategicMerge(scale, patch);
  }
}
