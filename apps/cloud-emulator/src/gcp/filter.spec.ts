import { FilterError, compileFilter } from './filter';

const inst = (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name, labels, status: 'RUNNING', scheduling: { preemptible: false }, networkInterfaces: [{ network: 'https://x/global/networks/a' }], ...extra,
});

describe('Compute list filter', () => {
  const a = inst('sw-1-worker-0', { 'skyweave-cluster': 'c1', 'skyweave-role': 'worker' });
  const b = inst('sw-1-master-0', { 'skyweave-cluster': 'c1', 'skyweave-role': 'master' });
  const c = inst('other', { team: 'x' }, { status: 'TERMINATED' });
  const pick = (f: string, message = 'Instance') => [a, b, c].filter(compileFilter(f, message)).map((i) => i.name);

  it('matches everything without a filter', () => {
    expect(pick('')).toEqual(['sw-1-worker-0', 'sw-1-master-0', 'other']);
  });

  it('compares labels with = and !=, quoted or bare', () => {
    expect(pick('labels.skyweave-cluster = "c1"')).toEqual(['sw-1-worker-0', 'sw-1-master-0']);
    expect(pick('labels.skyweave-cluster = c1')).toEqual(['sw-1-worker-0', 'sw-1-master-0']);
    expect(pick('labels.skyweave-cluster != "c1"')).toEqual(['other']);
  });

  it('tests label presence with :*', () => {
    expect(pick('labels.team:*')).toEqual(['other']);
  });

  it('ANDs parenthesized expressions and supports OR', () => {
    expect(pick('(labels.skyweave-cluster = "c1") (labels.skyweave-role = "master")')).toEqual(['sw-1-master-0']);
    expect(pick('(labels.skyweave-cluster = "c1") AND (labels.skyweave-role = "worker")')).toEqual(['sw-1-worker-0']);
    expect(pick('(labels.skyweave-role = "master") OR (status = "TERMINATED")')).toEqual(['sw-1-master-0', 'other']);
  });

  it('supports wildcards, booleans and nested fields', () => {
    expect(pick('name = "sw-1-*"')).toEqual(['sw-1-worker-0', 'sw-1-master-0']);
    expect(pick('scheduling.preemptible = false')).toHaveLength(3);
    expect(pick('networkInterfaces.network = "https://x/global/networks/a"')).toHaveLength(3);
  });

  it('supports RE2-style eq / ne with a full match', () => {
    expect(pick('name eq "sw-1-.*"')).toEqual(['sw-1-worker-0', 'sw-1-master-0']);
    expect(pick('name eq "sw-1"')).toEqual([]);
    expect(pick('name ne .*-0')).toEqual(['other']);
  });

  it('refuses what the real API refuses', () => {
    expect(() => compileFilter('labels.a = "x" labels.b = "y"', 'Instance')).toThrow(FilterError); // not parenthesized
    expect(() => compileFilter('(name eq "a") (status = "RUNNING")', 'Instance')).toThrow(FilterError); // mixed kinds
    expect(() => compileFilter('nosuchfield = "x"', 'Instance')).toThrow(FilterError);
    expect(() => compileFilter('labels.skyweave-cluster = "x"', 'Network')).toThrow(FilterError); // networks have no labels
    expect(() => compileFilter('name = "x', 'Instance')).toThrow(FilterError);
    expect(() => compileFilter('(name = "x"', 'Instance')).toThrow(FilterError);
    expect(() => compileFilter('name eq "(?=a)"', 'Instance')).toThrow(FilterError); // RE2 has no look-ahead
  });
});
