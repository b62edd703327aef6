import { CloudError } from '../errors';
import { classifyEc2Code, toCloudError } from './aws-errors';

/** A service exception as @aws-sdk/client-ec2 throws it: `name` is the EC2 error code. */
const sdkError = (name: string, status: number) => Object.assign(new Error(`${name} happened`), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

describe('EC2 error classification', () => {
  it.each([
    ['AuthFailure', 'InvalidCredentials'],
    ['SignatureDoesNotMatch', 'InvalidCredentials'],
    ['UnauthorizedOperation', 'InvalidCredentials'],
    ['RequestLimitExceeded', 'Throttled'],
    ['InvalidVpcID.NotFound', 'NotFound'],
    ['InvalidInstanceID.NotFound', 'NotFound'],
    ['InvalidGroup.NotFound', 'NotFound'],
    ['InstanceLimitExceeded', 'QuotaExceeded'],
    ['VcpuLimitExceeded', 'QuotaExceeded'],
    ['VpcLimitExceeded', 'QuotaExceeded'],
    ['RulesPerSecurityGroupLimitExceeded', 'QuotaExceeded'],
    ['InsufficientInstanceCapacity', 'InsufficientCapacity'],
    ['DependencyViolation', 'Conflict'],
    ['InvalidPermission.Duplicate', 'Conflict'],
    ['IdempotentParameterMismatch', 'Conflict'],
    ['InternalError', 'Unavailable'],
  ])('%s → %s', (code, kind) => {
    expect(classifyEc2Code(code)).toBe(kind);
  });

  it('leaves validation codes to the status', () => {
    expect(classifyEc2Code('InvalidParameterValue')).toBeUndefined();
    expect(toCloudError(sdkError('InvalidParameterValue', 400)).kind).toBe('InvalidRequest');
  });

  it('keeps the EC2 code and the cause', () => {
    const raw = sdkError('InvalidSubnet.Conflict', 400);
    const e = toCloudError(raw);
    expect(e).toBeInstanceOf(CloudError);
    expect(e).toMatchObject({ cloud: 'aws', code: 'InvalidSubnet.Conflict', kind: 'InvalidRequest' });
    expect(e.cause).toBe(raw);
  });

  it('falls back on the HTTP status and on network failures', () => {
    expect(toCloudError(sdkError('Weird', 503)).kind).toBe('Unavailable');
    expect(toCloudError(sdkError('Weird', 403)).kind).toBe('InvalidCredentials');
    expect(toCloudError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })).kind).toBe('Unavailable');
    expect(toCloudError('boom').kind).toBe('InvalidRequest');
  });

  it('passes CloudErrors through', () => {
    const e = new CloudError('Conflict', 'aws', 'X', 'y');
    expect(toCloudError(e)).toBe(e);
  });
});
