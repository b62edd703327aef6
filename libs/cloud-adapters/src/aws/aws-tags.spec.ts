import { clusterTags, literal, tagFilter, tagSpec, tagsToRecord } from './aws-tags';

describe('EC2 tag helpers', () => {
  it('converts tag lists to records', () => {
    expect(tagsToRecord([{ Key: 'a', Value: '1' }, { Key: 'b' }, { Value: 'orphan' }])).toEqual({ a: '1', b: '' });
    expect(tagsToRecord(undefined)).toEqual({});
  });

  it('builds tag specifications with the cluster tag and Name', () => {
    expect(tagSpec('vpc', clusterTags('c-1', 'sw-1-vpc'))).toEqual([
      { ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'sw-1-vpc' }, { Key: 'skyweave-cluster', Value: 'c-1' }] },
    ]);
  });

  it('escapes EC2 filter wildcards in literal tag values', () => {
    expect(literal('a*b?c\\d')).toBe('a\\*b\\?c\\\\d');
    expect(tagFilter('Name', 'x*')).toEqual({ Name: 'tag:Name', Values: ['x\\*'] });
  });
});
