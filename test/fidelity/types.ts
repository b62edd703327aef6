import type { CloudCredentials, CloudEndpoints, Instance, NetworkStatus } from '@skyweave/cloud-adapters';
import type { CloudId } from '@skyweave/domain';

/**
 * What every check of one cloud runs against: a fresh sandbox account of that cloud holding a live piece of a
 * cluster, made by Skyweave's own adapter (`ensureNetwork` + one running worker `createInstance`), as a user's own
 * scripts would find it beside Skyweave.
 */
export interface CloudFixture {
  cloud: CloudId;
  credentials: CloudCredentials;
  /** The sandbox's endpoints, as the adapters get them (SDK clients are built on them, see out-of-band.ts). */
  endpoints: CloudEndpoints;
  /** The cluster's region and zone on this cloud (AWS us-east-1/us-east-1a, GCP us-east4/us-east4-a, Azure eastus/1, DigitalOcean nyc1). */
  region: string;
  zone: string;
  clusterId: string;
  network: NetworkStatus;
  /** The running worker (state `running`). */
  instance: Instance;
  /** The sandbox's admin API (`GET /admin/calls` …). */
  adminUrl: string;
}

/**
 * One call checked through the cloud's official SDK (or its documented REST shape where the SDK has no client, e.g.
 * DigitalOcean), against what the cloud's API reference says it answers.
 * - `read`: a common read a user's tooling makes; counted as served when `run` resolves (the answer parsed by the SDK
 *   and checked for the documented fields).
 * - `error`: a write or read edge case; counted as matching when `run` resolves (status, error code and, where the
 *   reference gives it, the message checked).
 * `run` throws (an Error saying what differed) otherwise.
 */
export interface FidelityCheck {
  kind: 'read' | 'error';
  /** The operation as the API reference names it (`DescribeInstanceTypes`, `machineTypes.list`, `VirtualMachineSizes - List`, `GET /v2/images`). */
  operation: string;
  /** For `error` checks: the case (`RunInstances with an unknown ImageId`). */
  case?: string;
  /** The API reference page the expectation comes from (a URL). */
  reference: string;
  run(f: CloudFixture): Promise<void>;
}

/** Throws `Error(message)` unless `condition`. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
