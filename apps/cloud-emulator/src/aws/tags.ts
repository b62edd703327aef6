import { clientError, invalidParameterValue, missingParameter } from './errors';
import type { Params } from './params';
import type { Tags } from './state';
import type { XmlValue } from './xml';

/**
 * `TagSpecification.N.ResourceType` + `TagSpecification.N.Tag.M.Key/Value` ("Tag your Amazon EC2 resources"):
 * tag limits are 50 tags per resource, keys up to 128 and values up to 256 characters, the `aws:` prefix reserved.
 */
const MAX_TAGS = 50;

export function validateTag(key: string, value: string): void {
  if (key.length === 0 || key.length > 128) throw invalidParameterValue(`Tag key '${key}' must be between 1 and 128 characters`);
  if (value.length > 256) throw invalidParameterValue(`Tag value for key '${key}' exceeds the maximum length of 256 characters`);
  if (key.toLowerCase().startsWith('aws:')) throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
}

/**
 * Reads the tag specifications of a create call.
 * @param allowed resource types this action can tag, e.g. `['vpc']`, or `['instance', 'volume', 'network-interface']`.
 * @returns tags per resource type.
 */
export function readTagSpecifications(p: Params, allowed: readonly string[]): Map<string, Tags> {
  const out = new Map<string, Tags>();
  for (const spec of p.structList('TagSpecification')) {
    spec.allowOnly(['ResourceType', 'Tag']);
    const type = spec.str('ResourceType');
    if (!type) throw missingParameter(`${spec.path}.ResourceType`);
    if (!allowed.includes(type)) throw invalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    if (out.has(type)) throw invalidParameterValue(`The same resource type may not be specified more than once in tag specifications`);
    const tags: Tags = new Map();
    for (const t of spec.structList('Tag')) {
      t.allowOnly(['Key', 'Value']);
      const key = t.str('Key');
      if (key === undefined) throw missingParameter(`${t.path}.Key`);
      const value = t.str('Value') ?? '';
      validateTag(key, value);
      if (tags.has(key)) throw invalidParameterValue(`Duplicate tag key '${key}' specified.`);
      tags.set(key, value);
    }
    if (tags.size > MAX_TAGS) throw clientError('TagLimitExceeded', `The maximum number of tags per resource (${MAX_TAGS}) has been exceeded`);
    out.set(type, tags);
  }
  return out;
}

export const renderTags = (tags: Tags): XmlValue[] => [...tags].map(([key, value]) => ({ key, value }));

export const tagsToRecord = (tags: Tags): Record<string, string> => Object.fromEntries(tags);
