import { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsCredentials, CloudEndpoints } from '../cloud-provider';
import { BoundedRetryStrategy } from './retry';

/**
 * The EC2 client of one region, as the AWS adapter (and the test tools that act beside it) make it: the access key
 * pair, `endpoints.aws` as the endpoint of every region when set (the sandbox), bounded SDK retries (3 attempts,
 * ~100 ms base, at most 1 s apart), a 5 s connect and 30 s request timeout.
 */
export function createEc2Client(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): EC2Client {
  return new EC2Client({
    region,
    endpoint: endpoints.aws,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 3,
    retryStrategy: new BoundedRetryStrategy(3, 100, 1000),
    // no call may wait forever: a hung socket would hold a node's launch (and its lock) until redelivery
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}
