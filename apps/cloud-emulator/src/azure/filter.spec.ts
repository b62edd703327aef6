import { ArmError } from './arm-error';
import { isTagFilter, matchesFilter, parseListFilter } from './filter';

const vnet = { name: 'sw-1-vnet', type: 'Microsoft.Network/virtualNetworks', location: 'eastus', resourceGroup: 'sw-1-rg', tags: { 'Skyweave-Cluster': 'abc' } };
const nsg = { name: 'sw-1-nsg', type: 'Microsoft.Network/networkSecurityGroups', location: 'westeurope', resourceGroup: 'other', tags: {} };

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof ArmError ? e.code : 'not an ArmError';
  }
};

describe('ARM $filter', () => {
  it('matches tag name case-insensitively and the value exactly', () => {
    const f = parseListFilter("tagName eq 'skyweave-cluster' and tagValue eq 'abc'", 'resources');
    expect(isTagFilter(f)).toBe(true);
    expect(matchesFilter(f, vnet)).toBe(true);
    expect(matchesFilter(parseListFilter("tagname eq 'skyweave-cluster' and tagvalue eq 'ABC'", 'resources'), vnet)).toBe(false);
    expect(matchesFilter(parseListFilter("tagName eq 'skyweave-cluster'", 'resources'), nsg)).toBe(false);
    expect(matchesFilter(parseListFilter("startswith(tagName, 'skyweave')", 'resources'), vnet)).toBe(true);
  });
  it('supports property clauses, substringof and and/or with resourceType', () => {
    expect(matchesFilter(parseListFilter("resourceType eq 'microsoft.network/virtualnetworks'", 'resources'), vnet)).toBe(true);
    expect(matchesFilter(parseListFilter("location ne 'eastus'", 'resources'), nsg)).toBe(true);
    const f = parseListFilter("substringof('vnet', name) and resourceType eq 'Microsoft.Network/virtualNetworks' or substringof('oth', resourceGroup)", 'resources');
    expect(isTagFilter(f)).toBe(false);
    expect(matchesFilter(f, vnet)).toBe(true);
    expect(matchesFilter(f, nsg)).toBe(true);
    expect(matchesFilter(parseListFilter("name eq 'it''s'", 'resources'), { ...vnet, name: "it's" })).toBe(true);
  });
  it('refuses what ARM refuses with InvalidFilterInQueryString', () => {
    for (const bad of [
      "tagName eq 'a' and tagValue eq 'b' and resourceType eq 'x'",
      "tagValue eq 'b'",
      "location eq 'eastus' and name eq 'x'",
      "identity eq 'x'",
      "name eq 'unterminated",
      "name gt 'x'",
    ]) {
      expect(code(() => parseListFilter(bad, 'resources'))).toBe('InvalidFilterInQueryString');
    }
    expect(code(() => parseListFilter("location eq 'eastus'", 'resourceGroups'))).toBe('InvalidFilterInQueryString');
    expect(code(() => parseListFilter("tagName eq 'a' and tagValue eq 'b'", 'resourceGroups'))).toBeUndefined();
  });
});
