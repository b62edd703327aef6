import { DEFAULT_KUBERNETES_VERSION, KUBERNETES_RELEASES, isReleasedKubernetesVersion } from './kubernetes-releases';

describe('the catalogue of released Kubernetes patches', () => {
  it('accepts released patches only, with bounded numbers', () => {
    expect(isReleasedKubernetesVersion('1.31.0')).toBe(true);
    expect(isReleasedKubernetesVersion('1.31.4')).toBe(true);
    expect(isReleasedKubernetesVersion('1.32.0')).toBe(true);
    expect(isReleasedKubernetesVersion('1.31.99999999999999999999')).toBe(false);
    expect(isReleasedKubernetesVersion('1.31.99')).toBe(false);
    expect(isReleasedKubernetesVersion('1.28.0')).toBe(false);
    expect(isReleasedKubernetesVersion('1.31.04')).toBe(false);
    expect(isReleasedKubernetesVersion('v1.31.4')).toBe(false);
    expect(isReleasedKubernetesVersion('1.31')).toBe(false);
  });
  it('lists each minor once, in order', () => {
    const minors = KUBERNETES_RELEASES.map((r) => r.minor);
    expect(new Set(minors).size).toBe(minors.length);
    expect([...minors].sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))).toEqual(minors);
  });
  it('defaults to a released patch of a minor still supported (1.31 reached end of life on 2025-10-28)', () => {
    expect(isReleasedKubernetesVersion(DEFAULT_KUBERNETES_VERSION)).toBe(true);
    expect(Number(DEFAULT_KUBERNETES_VERSION.split('.')[1])).toBeGreaterThanOrEqual(35);
  });
});
