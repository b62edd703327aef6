import { createHash } from 'node:crypto';
import { clientError, invalidParameterCombination, invalidParameterValue } from './errors';
import type { Params } from './params';

/**
 * `MaxResults` / `NextToken` pagination as EC2's Describe actions do it. Tokens are opaque to clients; the sandbox's
 * encode the position and a digest of the query so a token cannot be reused with other arguments.
 */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * One page of `all`. `min`/`max`: the action's MaxResults range; `idsParam`: the id list that cannot be combined with
 * MaxResults; `defaultMax`: the page size without MaxResults (absent: everything in one page).
 */
export function paginate<T>(
  all: T[],
  p: Params,
  action: string,
  opts: { min: number; max: number; idsParam?: string; maxParam?: string; tokenParam?: string; defaultMax?: number },
): Page<T> {
  const maxParam = opts.maxParam ?? 'MaxResults';
  const tokenParam = opts.tokenParam ?? 'NextToken';
  const maxResults = p.int(maxParam);
  const token = p.str(tokenParam);
  if (maxResults !== undefined && opts.idsParam && p.has(opts.idsParam)) {
    throw invalidParameterCombination(`The parameter ${opts.idsParam} cannot be used with the parameter ${maxParam}`);
  }
  if (maxResults !== undefined && (maxResults < opts.min || maxResults > opts.max)) {
    throw invalidParameterValue(`Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${opts.min} and ${opts.max}.`);
  }
  const digest = createHash('sha256').update(`${action}?${p.fingerprint([tokenParam, maxParam])}`).digest('hex').slice(0, 16);
  let start = 0;
  if (token !== undefined) {
    const m = /^(\d+)\.([0-9a-f]{16})$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m || m[2] !== digest) throw clientError('InvalidPaginationToken', `The pagination token '${token}' is not valid or is expired.`);
    start = Number(m[1]);
  }
  const size = maxResults ?? opts.defaultMax;
  if (size === undefined) return { items: all.slice(start) };
  const end = start + size;
  const items = all.slice(start, end);
  return { items, nextToken: end < all.length ? Buffer.from(`${end}.${digest}`).toString('base64') : undefined };
}
