import { KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { ADDON_FIELD_MANAGER, ADDONS_REVISION, addonManifests, type AddonParams } from '@skyweave/bootstrap/src/addons';

/**
 * Applies every cluster add-on (libs/bootstrap `addonManifests`: Grafana with Prometheus, the Kubernetes dashboard)
 * through the cluster's Kubernetes API, in order, by server-side apply (`application/apply-patch+yaml`, field manager
 * `skyweave`, `force`: the platform owns these fields). Idempotent: applying the same manifests again changes nothing,
 * and a changed manifest (a new pinned version) is rolled out by the Deployment as any apply would.
 * @param kc a KubeConfig with a credential allowed to create namespaces, RBAC objects and workloads (the watcher's
 *   in-memory `system:masters` bootstrap certificate).
 * @returns a condition message naming the revision and the number of objects applied.
 * @throws the API's error for the first object that could not be applied (the caller records it and tries again later).
 */
export async function installAddons(kc: KubeConfig, params: AddonParams): Promise<string> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const objects = addonManifests(params);
  for (const o of objects) {
    await api.patch(o, undefined, undefined, ADDON_FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
  return `applied ${objects.length} objects of add-ons revision ${ADDONS_REVISION} (Grafana, Prometheus, Kubernetes dashboard)`;
}
