/**
 * Released Kubernetes patch versions Skyweave accepts (issue 10, finding 8: `1.31.99999999999999999999` must not be
 * taken, nor rolled out). Kubernetes patch releases of a minor are numbered without gaps from `.0`, so the catalogue
 * keeps, per supported minor, the newest patch known to be released.
 *
 * Source: https://kubernetes.io/releases/ and `https://dl.k8s.io/release/stable-1.<minor>.txt` (the newest patch of a
 * minor). Refresh: raise `latestPatch` (or add a minor) when a patch is published; a version newer than the catalogue
 * is refused with 422 `released-version` until then, never accepted blindly.
 */
export const KUBERNETES_RELEASES: readonly { minor: string; latestPatch: number }[] = [
  // end of life (kubernetes.io/releases): kept so that existing clusters can still take their last patches
  { minor: '1.29', latestPatch: 15 },
  { minor: '1.30', latestPatch: 14 },
  { minor: '1.31', latestPatch: 12 },
  { minor: '1.32', latestPatch: 8 },
  { minor: '1.33', latestPatch: 10 }, // 1.33.10, 2026-03-19
  { minor: '1.34', latestPatch: 8 }, // 1.34.8, 2026-05-12
  // supported
  { minor: '1.35', latestPatch: 9 }, // 1.35.9, 2026-09-15
  { minor: '1.36', latestPatch: 4 }, // 1.36.4, 2026-08-11
  { minor: '1.37', latestPatch: 1 }, // 1.37.1, 2026-09-15
];

/**
 * The version a cluster gets when its spec names none: the newest patch, in KUBERNETES_RELEASES, of the newest minor
 * that is past its first patches (a `.0`/`.1` of a brand-new minor is left to those who ask for it by name).
 */
export const DEFAULT_KUBERNETES_VERSION = '1.36.4';

/**
 * True when `version` (`MAJOR.MINOR.PATCH`, decimal without leading zeros, no `v`) is a released Kubernetes patch in
 * KUBERNETES_RELEASES. Any other text, including unbounded numbers, is false.
 */
export function isReleasedKubernetesVersion(version: string): boolean {
  const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(version);
  if (!m) return false;
  const release = KUBERNETES_RELEASES.find((r) => r.minor === `${m[1]}.${m[2]}`);
  return release !== undefined && Number(m[3]) <= release.latestPatch;
}
