import type { Filter, Tag, TagSpecification, ResourceType } from '@aws-sdk/client-ec2';
import { TAG_CLUSTER } from '@skyweave/domain';

/**
 * EC2 tag helpers: tag lists ↔ records, `TagSpecifications` for create calls, and Describe filters
 * (`tag:<key>` matches the value, EC2 API reference "Filter").
 */

/** `[{Key, Value}]` → `{key: value}` (entries without a key are skipped). */
export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function recordToTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** One `TagSpecifications` entry for a create call. */
export function tagSpec(resourceType: ResourceType, tags: Record<string, string>): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: recordToTags(tags) }];
}

/** The tags every network part of a cluster carries: the cluster id and its logical `Name`. */
export function clusterTags(clusterId: string, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Name: name, [TAG_CLUSTER]: clusterId, ...extra };
}

/** EC2 filter values treat `*`, `?` and `\` as wildcards/escape: escape them for a literal match. */
export const literal = (value: string): string => value.replace(/[\\*?]/g, (c) => `\\${c}`);

/** `tag:<key>` equal to one of `values` (matched literally). */
export const tagFilter = (key: string, ...values: string[]): Filter => ({ Name: `tag:${key}`, Values: values.map(literal) });

/** A resource filter; values may use EC2 wildcards. */
export const filter = (name: string, ...values: string[]): Filter => ({ Name: name, Values: values });
