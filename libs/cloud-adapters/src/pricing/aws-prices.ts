import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { AwsCredentials, CloudEndpoints } from '../cloud-provider';
import { CloudError } from '../errors';
import { CLOUD_CALL, retryDelayMs, SDK_RETRY } from '../retry';
import { toCloudError } from '../aws/aws-errors';
import { byInstanceType, InstanceOffering, PriceReader, roundUsd } from './types';

/** The Price List Query API's endpoint region (it also runs in eu-central-1 and ap-south-1; the list is the same). */
export const AWS_PRICING_REGION = 'us-east-1';
const MAX_PAGES = 200;

/** One `PriceList` entry of GetProducts (aws_v1), the parts read. */
interface AwsProduct {
  product?: { attributes?: Record<string, string> };
  terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: Record<string, string> }> }> };
}

/** `"16 GiB"` / `"0.5 GiB"` → MiB; undefined when the text is not in GiB. */
export function awsMemoryMiB(memory: string | undefined): number | undefined {
  const m = /^([\d.,]+)\s*GiB$/.exec(memory?.trim() ?? '');
  return m ? Math.round(Number(m[1].replace(/,/g, '')) * 1024) : undefined;
}

/**
 * The architecture of an EC2 product: the Price List's `processorArchitecture` is `64-bit` for x86 and Graviton alike,
 * so Arm is told by `physicalProcessor` (`AWS Graviton…`), as the Price List names every Arm processor EC2 sells.
 */
export const awsArchitecture = (physicalProcessor: string | undefined): 'amd64' | 'arm64' => (/graviton/i.test(physicalProcessor ?? '') ? 'arm64' : 'amd64');

/** An EC2 product as an offering, or undefined when it is not a priced on-demand hourly instance. */
export function awsOffering(raw: string, region: string): InstanceOffering | undefined {
  const doc = JSON.parse(raw) as AwsProduct;
  const a = doc.product?.attributes ?? {};
  const instanceType = a.instanceType;
  const vcpu = Number(a.vcpu);
  const memoryMiB = awsMemoryMiB(a.memory);
  if (!instanceType || !Number.isFinite(vcpu) || vcpu <= 0 || memoryMiB === undefined) return undefined;
  // a product has one OnDemand term with one hourly price dimension
  const dims = Object.values(doc.terms?.OnDemand ?? {}).flatMap((t) => Object.values(t.priceDimensions ?? {}));
  const hourly = dims.find((d) => d.unit === 'Hrs' && d.pricePerUnit?.USD !== undefined);
  const usd = Number(hourly?.pricePerUnit?.USD);
  if (!hourly || !Number.isFinite(usd) || usd <= 0) return undefined;
  return {
    cloud: 'aws', region, instanceType, family: instanceType.split('.')[0], vcpu, memoryMiB, architecture: awsArchitecture(a.physicalProcessor), usdPerHour: roundUsd(usd),
  };
}

/**
 * AWS: the Price List Query API (`GetProducts`, ServiceCode AmazonEC2) through `@aws-sdk/client-pricing`, signed with
 * the account's keys for us-east-1 (`endpoints.awsPricing`, else `endpoints.aws`, else AWS's endpoint). Filters
 * (TERM_MATCH): regionCode, operatingSystem Linux, tenancy Shared, preInstalledSw NA, capacitystatus Used — exactly
 * the on-demand Linux rows; every page followed (`NextToken`, 100 a page). vCPUs, memory and the processor come from
 * the same products' attributes. The SDK's retry (retry.ts `SDK_RETRY`, `CLOUD_CALL` delays) is the only retry.
 */
export class AwsPriceReader implements PriceReader {
  readonly source = 'AWS Price List GetProducts';
  private readonly client: PricingClient;

  constructor(credentials: AwsCredentials, endpoints: CloudEndpoints) {
    this.client = new PricingClient({
      region: AWS_PRICING_REGION,
      endpoint: endpoints.awsPricing ?? endpoints.aws,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      maxAttempts: SDK_RETRY.maxAttempts,
      retryStrategy: new ConfiguredRetryStrategy(SDK_RETRY.maxAttempts, (retry) => retryDelayMs(CLOUD_CALL, Math.max(1, retry))),
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    });
  }

  async read(region: string): Promise<InstanceOffering[]> {
    const filters = Object.entries({ regionCode: region, operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used' })
      .map(([Field, Value]) => ({ Type: 'TERM_MATCH' as const, Field, Value }));
    const byType = new Map<string, InstanceOffering>();
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let out;
      try {
        out = await this.client.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', Filters: filters, FormatVersion: 'aws_v1', MaxResults: 100, NextToken: token }));
      } catch (e) {
        throw toCloudError(e);
      }
      for (const raw of out.PriceList ?? []) {
        const o = awsOffering(String(raw), region);
        // one row per type is expected; should the list hold more (a licence variant), the cheapest is what Linux costs
        if (o && (!byType.has(o.instanceType) || byType.get(o.instanceType)!.usdPerHour > o.usdPerHour)) byType.set(o.instanceType, o);
      }
      token = out.NextToken;
      if (!token) return [...byType.values()].sort(byInstanceType);
    }
    throw new CloudError('Unavailable', 'aws', 'too_many_pages', `GetProducts did not end after ${MAX_PAGES} pages`);
  }
}
