import { EC2Client } from '@aws-sdk/client-ec2';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { FinalizeHandler, FinalizeHandlerArguments, FinalizeRequestMiddleware, HandlerExecutionContext, MetadataBearer } from '@smithy/types';
import type { AwsCredentials, CloudEndpoints } from '../cloud-provider';
import { isCloudError } from '../errors';
import { recordCloudRetry, timeCloudRequest } from '../metrics';
import { CLOUD_CALL, retryDelayMs, SDK_RETRY } from '../retry';
import { toCloudError } from './aws-errors';

/** Attempts already sent per SDK call (one handler context per `client.send`), and the last failure. */
const attemptsOf = new WeakMap<HandlerExecutionContext, { sent: number; last?: unknown }>();

/**
 * Placed right after the SDK's retry middleware, so it sees every attempt: records each request in the cloud
 * metrics (operation = the EC2 action, e.g. `RunInstances`) and each retry in `skyweave_cloud_retries_total`.
 */
const metricsMiddleware: FinalizeRequestMiddleware<object, MetadataBearer> = <Output extends MetadataBearer>(next: FinalizeHandler<object, Output>, context: HandlerExecutionContext) =>
  async (args: FinalizeHandlerArguments<object>) => {
    const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
    const seen = attemptsOf.get(context) ?? { sent: 0 };
    attemptsOf.set(context, seen);
    if (seen.sent++ > 0) recordCloudRetry('aws', seen.last, operation);
    try {
      return await timeCloudRequest('aws', operation, () => next(args), toCloudError);
    } catch (e) {
      seen.last = e;
      // the SDK's retry middleware classifies what it retries by the SDK's own error, so rethrow that one
      throw isCloudError(e) && e.cause !== undefined ? e.cause : e;
    }
  };

/**
 * The EC2 client of one region, as the AWS adapter (and the test tools that act beside it) make it: the access key
 * pair, `endpoints.aws` as the endpoint of every region when set (the sandbox), a 5 s connect and 30 s request
 * timeout, and the SDK's own retry as the only retry of EC2 calls (the adapter does not retry them again): the
 * standard strategy (throttling and transient errors, with the SDK's retry quota) with retry.ts `SDK_RETRY`'s attempts
 * (3 in all) and `CLOUD_CALL`'s jittered delays (100 ms → 2 s). Every attempt is recorded in the cloud metrics.
 */
export function createEc2Client(credentials: AwsCredentials, endpoints: CloudEndpoints, region: string): EC2Client {
  const client = new EC2Client({
    region,
    endpoint: endpoints.aws,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: SDK_RETRY.maxAttempts,
    retryStrategy: new ConfiguredRetryStrategy(SDK_RETRY.maxAttempts, (retry) => retryDelayMs(CLOUD_CALL, Math.max(1, retry))),
    // no call may wait forever: a hung socket would hold a node's launch (and its lock) until redelivery
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  client.middlewareStack.addRelativeTo(metricsMiddleware, { relation: 'after', toMiddleware: 'retryMiddleware', name: 'skyweaveCloudMetrics', override: true });
  return client;
}
