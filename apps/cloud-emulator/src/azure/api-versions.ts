import { SDK_ARM_OPERATIONS } from './arm-operations';

/**
 * api-versions accepted per resource provider namespace: the ones the pinned SDKs send (arm-resources 7.0.0 →
 * 2025-04-01, arm-network 36.0.0 → 2025-05-01, arm-compute 24.1.0 → 2026-03-01) and a few older stable ones. Types
 * with their own version line add theirs (TYPE_API_VERSIONS), and every call also takes what the SDKs send for it
 * (arm-operations.ts: e.g. 2025-01-02 for disks, 2021-07-01 for resource SKUs).
 */
export const API_VERSIONS: Record<string, string[]> = {
  'microsoft.resources': ['2025-04-01', '2025-03-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-07-01', '2022-12-01', '2022-09-01', '2021-04-01', '2021-01-01', '2020-06-01', '2020-01-01', '2019-10-01', '2016-06-01'],
  'microsoft.network': ['2025-05-01', '2025-03-01', '2025-01-01', '2024-10-01', '2024-07-01', '2024-05-01', '2024-03-01', '2024-01-01', '2023-11-01', '2023-09-01', '2023-06-01', '2023-05-01', '2023-04-01', '2023-02-01', '2022-11-01', '2022-09-01', '2022-07-01', '2022-05-01', '2022-01-01', '2021-08-01', '2021-05-01', '2021-03-01', '2021-02-01', '2020-11-01'],
  'microsoft.compute': ['2026-03-01', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-09-01', '2023-07-01', '2023-03-01', '2022-11-01', '2022-08-01', '2022-03-01', '2021-11-01', '2021-07-01', '2021-04-01', '2021-03-01'],
};

/** Resource types on their own api-version line (the Compute RP's disk and SKU APIs), by lower-cased `ns/type`. */
export const TYPE_API_VERSIONS: Record<string, string[]> = {
  'microsoft.compute/disks': ['2025-01-02', '2024-03-02', '2023-10-02', '2023-04-02', '2023-01-02', '2022-07-02', '2022-03-02', '2021-12-01', '2021-08-01', '2021-04-01'],
  'microsoft.compute/skus': ['2021-07-01', '2021-03-01', '2019-04-01', '2017-09-01'],
};

/** api-versions a served call accepts. */
export function apiVersionsFor(name: string, ns: string, type: string): string[] {
  const top = `${ns}/${type.split('/')[0]}`.toLowerCase();
  const own = TYPE_API_VERSIONS[top];
  const sdk = SDK_ARM_OPERATIONS[name] ?? [];
  return [...new Set([...sdk, ...(own ?? API_VERSIONS[ns.toLowerCase()] ?? [])])];
}

