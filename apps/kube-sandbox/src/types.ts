/**
 * The JSON wire shapes this server reads and writes (source: Kubernetes API reference, "ObjectMeta v1 meta" and
 * "Status v1 meta", https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/). Objects are kept as plain
 * JSON: the server stores what clients send and only reads the fields named here.
 */

import type { ObjectMeta as CommonObjectMeta, OwnerReference } from '@skyweave/kube-sim';

/** Owner reference (`metadata.ownerReferences[]`): the same shape kube-sim's controllers write. */
export type { OwnerReference };

/**
 * `metadata` of every stored object (kube-sim's ObjectMeta, plus what the server keeps without reading it).
 * `resourceVersion` is the decimal store revision of the object's last write.
 */
export interface ObjectMeta extends CommonObjectMeta {
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** Any Kubernetes object: `apiVersion`, `kind`, `metadata`, and whatever else the kind has (spec, status, data …). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** The `Status` kind returned for errors and for some deletes (source: API conventions, "Response Status Kind"). */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: { reason?: string; message: string; field?: string }[]; retryAfterSeconds?: number };
  code: number;
}

/** Plain JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Deep copy of a JSON value (objects in the store are never shared with callers). */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** `true` when `v` is a non-null, non-array object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
