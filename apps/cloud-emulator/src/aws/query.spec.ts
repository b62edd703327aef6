import { Ec2Error } from './errors';
import { compileFilters, readFilters } from './filters';
import { Params } from './params';
import { element, errorDocument, responseDocument } from './xml';

const params = (q: string) => Params.fromEntries(new URLSearchParams(q));

const ec2Code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (e instanceof Ec2Error) return e.code;
    throw e;
  }
  return undefined;
};

describe('EC2 Query parameters', () => {
  it('reads lists and structures from the flat form', () => {
    const p = params('VpcId.2=b&VpcId.1=a&Filter.1.Name=tag:x&Filter.1.Value.1=1&Filter.1.Value.2=2&MapPublicIpOnLaunch.Value=true');
    expect(p.strList('VpcId')).toEqual(['a', 'b']);
    expect(readFilters(p)).toEqual([{ name: 'tag:x', values: ['1', '2'] }]);
    expect(p.struct('MapPublicIpOnLaunch')?.bool('Value')).toBe(true);
  });

  it('refuses unknown members, missing and malformed values with EC2 codes', () => {
    expect(ec2Code(() => params('Colour=blue').allowOnly(['VpcId']))).toBe('UnknownParameter');
    expect(ec2Code(() => params('Filter.1.Nmae=x').structList('Filter').forEach((f) => f.allowOnly(['Name', 'Value'])))).toBe('UnknownParameter');
    expect(ec2Code(() => params('').reqStr('ImageId'))).toBe('MissingParameter');
    expect(ec2Code(() => params('MinCount=one').int('MinCount'))).toBe('InvalidParameterValue');
    expect(ec2Code(() => params('DryRun=yes').bool('DryRun'))).toBe('InvalidParameterValue');
    expect(ec2Code(() => params('VpcId.x=a').strList('VpcId'))).toBe('UnknownParameter');
  });

  it('fingerprints requests independently of parameter order', () => {
    expect(params('A=1&B.1=x&ClientToken=t').fingerprint(['ClientToken'])).toBe(params('B.1=x&A=1').fingerprint());
  });
});

describe('EC2 filters', () => {
  interface R { id: string; tags: Map<string, string> }
  const rs: R[] = [
    { id: 'vpc-1', tags: new Map([['Name', 'a*b']]) },
    { id: 'vpc-2', tags: new Map([['Name', 'axb'], ['env', 'prod']]) },
  ];
  const run = (q: string) => rs.filter(compileFilters(readFilters(params(q)), { 'vpc-id': (r: R) => [r.id] }, (r) => r.tags)).map((r) => r.id);

  it('ANDs filters, ORs values, matches wildcards and escapes', () => {
    expect(run('Filter.1.Name=tag:Name&Filter.1.Value.1=a*')).toEqual(['vpc-1', 'vpc-2']);
    expect(run('Filter.1.Name=tag:Name&Filter.1.Value.1=a\\*b')).toEqual(['vpc-1']);
    expect(run('Filter.1.Name=tag-key&Filter.1.Value.1=env&Filter.2.Name=vpc-id&Filter.2.Value.1=vpc-?')).toEqual(['vpc-2']);
    expect(run('Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2')).toEqual(['vpc-1', 'vpc-2']);
  });

  it('refuses unknown filter names and too many values', () => {
    expect(ec2Code(() => run('Filter.1.Name=colour&Filter.1.Value.1=x'))).toBe('InvalidParameterValue');
    const many = Array.from({ length: 201 }, (_, i) => `Filter.1.Value.${i + 1}=v${i}`).join('&');
    expect(ec2Code(() => run(`Filter.1.Name=vpc-id&${many}`))).toBe('FilterLimitExceeded');
  });
});

describe('EC2 XML', () => {
  it('renders lists as item elements, omits absent values, escapes text', () => {
    expect(element('vpcSet', [{ vpcId: 'v<1>', isDefault: false, gone: undefined, tagSet: [] }])).toBe(
      '<vpcSet><item><vpcId>v&lt;1&gt;</vpcId><isDefault>false</isDefault><tagSet/></item></vpcSet>',
    );
    expect(responseDocument('DeleteVpc', 'req-1', { return: true })).toContain(
      '<DeleteVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><return>true</return></DeleteVpcResponse>',
    );
    expect(errorDocument('AuthFailure', 'no & no', 'req-2')).toContain('<Response><Errors><Error><Code>AuthFailure</Code><Message>no &amp; no</Message></Error></Errors><RequestID>req-2</RequestID></Response>');
  });
});
