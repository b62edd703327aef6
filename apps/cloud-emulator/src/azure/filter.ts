import { ArmError } from './arm-error';

/**
 * The `$filter` grammar of ARM's generic listings (Resources - List, Resource Groups - List), as documented on
 * https://learn.microsoft.com/rest/api/resources/resources/list :
 * - tags: `tagName eq 'k'`, `tagName eq 'k' and tagValue eq 'v'`, `startswith(tagName, 'prefix')` — never combined
 *   with anything else (ARM answers 400 InvalidFilterInQueryString), and when a tag filter is used the listing
 *   does NOT return each resource's tags;
 * - properties: `location|resourceType|name|resourceGroup eq|ne 'v'` and `substringof('v', name|resourceGroup)`; only
 *   `substringof(…)` and `resourceType` clauses may be combined (with `and` / `or`, `and` binding tighter).
 * Resource groups accept the tag forms only.
 * Keywords and property names are case-insensitive; tag names match case-insensitively, values exactly.
 */
export type ListFilter =
  | { kind: 'tag'; name: string; value?: string }
  | { kind: 'tagPrefix'; prefix: string }
  | { kind: 'expr'; expr: OrExpr };

type Prop = 'location' | 'resourcetype' | 'name' | 'resourcegroup';
type Clause =
  | { kind: 'cmp'; prop: Prop; op: 'eq' | 'ne'; value: string }
  | { kind: 'substringof'; value: string; prop: 'name' | 'resourcegroup' };
type AndExpr = Clause[];
type OrExpr = AndExpr[];

/** What a filter is matched against. */
export interface Filterable {
  name: string;
  type: string;
  location: string;
  resourceGroup: string;
  tags: Record<string, string>;
}

type Token = { t: 'word'; v: string } | { t: 'str'; v: string } | { t: 'lp' } | { t: 'rp' } | { t: 'comma' };

const invalid = (filter: string): ArmError =>
  new ArmError(400, 'InvalidFilterInQueryString', `Invalid $filter '${filter}' specified in the query string.`);

function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(') { out.push({ t: 'lp' }); i++; continue; }
    if (c === ')') { out.push({ t: 'rp' }); i++; continue; }
    if (c === ',') { out.push({ t: 'comma' }); i++; continue; }
    if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= filter.length) throw invalid(filter);
        if (filter[i] === "'") {
          if (filter[i + 1] === "'") { v += "'"; i += 2; continue; }
          i++;
          break;
        }
        v += filter[i++];
      }
      out.push({ t: 'str', v });
      continue;
    }
    const m = /^[A-Za-z_/]+/.exec(filter.slice(i));
    if (!m) throw invalid(filter);
    out.push({ t: 'word', v: m[0] });
    i += m[0].length;
  }
  return out;
}

/**
 * Parses a `$filter`. @param scope `resources` (Resources - List) or `resourceGroups` (tag forms only).
 * @throws ArmError 400 InvalidFilterInQueryString
 */
export function parseListFilter(filter: string, scope: 'resources' | 'resourceGroups'): ListFilter {
  const toks = tokenize(filter);
  let p = 0;
  const peek = () => toks[p];
  const word = (): string => {
    const t = toks[p++];
    if (!t || t.t !== 'word') throw invalid(filter);
    return t.v.toLowerCase();
  };
  const str = (): string => {
    const t = toks[p++];
    if (!t || t.t !== 'str') throw invalid(filter);
    return t.v;
  };
  const expect = (t: Token['t']) => {
    if (toks[p++]?.t !== t) throw invalid(filter);
  };

  // Tag forms.
  const first = peek();
  if (first?.t === 'word' && first.v.toLowerCase() === 'tagname') {
    p++;
    if (word() !== 'eq') throw invalid(filter);
    const name = str();
    if (p === toks.length) return { kind: 'tag', name };
    if (word() !== 'and' || word() !== 'tagvalue' || word() !== 'eq') throw invalid(filter);
    const value = str();
    if (p !== toks.length) throw invalid(filter);
    return { kind: 'tag', name, value };
  }
  if (first?.t === 'word' && first.v.toLowerCase() === 'startswith') {
    p++;
    expect('lp');
    if (word() !== 'tagname') throw invalid(filter);
    expect('comma');
    const prefix = str();
    expect('rp');
    if (p !== toks.length) throw invalid(filter);
    return { kind: 'tagPrefix', prefix };
  }
  if (scope === 'resourceGroups') throw invalid(filter);

  const clause = (): Clause => {
    const w = word();
    if (w === 'substringof') {
      expect('lp');
      const value = str();
      expect('comma');
      const prop = word();
      if (prop !== 'name' && prop !== 'resourcegroup') throw invalid(filter);
      expect('rp');
      return { kind: 'substringof', value, prop };
    }
    if (w !== 'location' && w !== 'resourcetype' && w !== 'name' && w !== 'resourcegroup') throw invalid(filter);
    const op = word();
    if (op !== 'eq' && op !== 'ne') throw invalid(filter);
    return { kind: 'cmp', prop: w, op, value: str() };
  };
  const or: OrExpr = [[clause()]];
  while (p < toks.length) {
    const conj = word();
    if (conj === 'and') or[or.length - 1].push(clause());
    else if (conj === 'or') or.push([clause()]);
    else throw invalid(filter);
  }
  const all = or.flat();
  if (all.length > 1 && !all.every((c) => c.kind === 'substringof' || c.prop === 'resourcetype')) throw invalid(filter);
  return { kind: 'expr', expr: or };
}

const eqi = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function tagValue(tags: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(tags).find((k) => eqi(k, name));
  return key === undefined ? undefined : tags[key];
}

/** True when `r` passes `f`. */
export function matchesFilter(f: ListFilter, r: Filterable): boolean {
  switch (f.kind) {
    case 'tag': {
      const v = tagValue(r.tags, f.name);
      return v !== undefined && (f.value === undefined || v === f.value);
    }
    case 'tagPrefix':
      return Object.keys(r.tags).some((k) => k.toLowerCase().startsWith(f.prefix.toLowerCase()));
    case 'expr':
      return f.expr.some((and) =>
        and.every((c) => {
          if (c.kind === 'substringof') {
            const hay = c.prop === 'name' ? r.name : r.resourceGroup;
            return hay.toLowerCase().includes(c.value.toLowerCase());
          }
          const actual = { location: r.location, resourcetype: r.type, name: r.name, resourcegroup: r.resourceGroup }[c.prop];
          const same = c.prop === 'location' ? eqi(actual.replace(/\s/g, ''), c.value.replace(/\s/g, '')) : eqi(actual, c.value);
          return c.op === 'eq' ? same : !same;
        }),
      );
  }
}

/** True when the filter is by tag: the Resources - List answer then omits each resource's tags. */
export const isTagFilter = (f: ListFilter | undefined): boolean => f !== undefined && f.kind !== 'expr';
