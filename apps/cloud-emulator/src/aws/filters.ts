import { clientError, invalidParameterValue } from './errors';
import type { Params } from './params';

/**
 * EC2 `Filter.N.Name` / `Filter.N.Value.M` semantics ("Filter resources", EC2 User Guide): filters are ANDed, the
 * values of one filter are ORed, values may use `*` and `?` wildcards (`\` escapes them), names are case-sensitive.
 * Resource-specific filters are declared per Describe action; `tag:<key>`, `tag-key` and `tag-value` come with tags.
 * An unknown filter name is refused with `InvalidParameterValue`, as EC2 does.
 */
export interface Filter {
  name: string;
  values: string[];
}

/** For one filter name: the values a resource has for it (a resource matches when any value matches). */
export type FilterFields<R> = Record<string, (r: R) => (string | number | boolean | undefined)[]>;

/** EC2 allows at most 200 filter values in one call (`FilterLimitExceeded`). */
const MAX_FILTER_VALUES = 200;

export function readFilters(p: Params): Filter[] {
  const filters = p.structList('Filter').map((f) => {
    f.allowOnly(['Name', 'Value']);
    const name = f.reqStr('Name');
    const values = f.strList('Value');
    return { name, values };
  });
  if (filters.reduce((n, f) => n + f.values.length, 0) > MAX_FILTER_VALUES) {
    throw clientError('FilterLimitExceeded', `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`);
  }
  return filters;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i]);
    else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Compiles filters into a predicate.
 * @param tags how to read a resource's tags (`undefined`: the resource type has no tag filters).
 * @throws Ec2Error `InvalidParameterValue` for an unknown filter name or a filter without values.
 */
export function compileFilters<R>(
  filters: Filter[],
  fields: FilterFields<R>,
  tags?: (r: R) => Map<string, string>,
  opts: { tagKeyAndValueFilters?: boolean } = {},
): (r: R) => boolean {
  const keyValue = opts.tagKeyAndValueFilters ?? true;
  const tests = filters.map((f) => {
    if (f.values.length === 0) throw invalidParameterValue(`The filter '${f.name}' requires at least one value`);
    const res = f.values.map(globToRegExp);
    const any = (vals: (string | number | boolean | undefined)[]) => vals.some((v) => v !== undefined && res.some((re) => re.test(String(v))));
    if (tags && f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      return (r: R) => {
        const v = tags(r).get(key);
        return v !== undefined && any([v]);
      };
    }
    if (tags && keyValue && f.name === 'tag-key') return (r: R) => any([...tags(r).keys()]);
    if (tags && keyValue && f.name === 'tag-value') return (r: R) => any([...tags(r).values()]);
    const field = Object.prototype.hasOwnProperty.call(fields, f.name) ? fields[f.name] : undefined;
    if (!field) throw clientError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    return (r: R) => any(field(r));
  });
  return (r: R) => tests.every((t) => t(r));
}
