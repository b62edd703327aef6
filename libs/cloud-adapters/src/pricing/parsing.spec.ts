import { awsArchitecture, awsMemoryMiB, awsOffering } from './aws-prices';
import { azureArchitecture, azureFamily, isLinuxOnDemand, RetailPriceItem } from './azure-prices';
import { doFamily } from './digitalocean-prices';
import { familyRates, SkuLike } from './gcp-prices';

describe('AWS Price List products', () => {
  const product = (attrs: Record<string, string>, usd: string, unit = 'Hrs') => JSON.stringify({
    product: { attributes: attrs },
    terms: { OnDemand: { 'SKU.JRTCKXETXF': { priceDimensions: { 'SKU.JRTCKXETXF.6YS6EN2CT7': { unit, pricePerUnit: { USD: usd } } } } } },
  });

  it('reads type, vCPUs, memory (GiB → MiB), architecture and the hourly USD price', () => {
    expect(awsOffering(product({ instanceType: 'c7g.xlarge', vcpu: '4', memory: '8 GiB', physicalProcessor: 'AWS Graviton3 Processor' }, '0.1450000000'), 'us-east-1'))
      .toEqual({ cloud: 'aws', region: 'us-east-1', instanceType: 'c7g.xlarge', family: 'c7g', vcpu: 4, memoryMiB: 8192, architecture: 'arm64', usdPerHour: 0.145 });
    expect(awsMemoryMiB('0.5 GiB')).toBe(512);
    expect(awsMemoryMiB('1,952 GiB')).toBe(1952 * 1024);
    expect(awsMemoryMiB('NA')).toBeUndefined();
    expect(awsArchitecture('Intel Xeon Platinum 8175')).toBe('amd64');
  });

  it('skips products without an hourly price above zero or without sizes', () => {
    expect(awsOffering(product({ instanceType: 'm5.large', vcpu: '2', memory: '8 GiB' }, '0.0000000000'), 'us-east-1')).toBeUndefined();
    expect(awsOffering(product({ instanceType: 'm5.large', vcpu: '2', memory: '8 GiB' }, '70.0', 'Quantity'), 'us-east-1')).toBeUndefined();
    expect(awsOffering(product({ instanceType: 'm5.large', memory: '8 GiB' }, '0.096'), 'us-east-1')).toBeUndefined();
  });
});

describe('GCP SKUs', () => {
  const sku = (description: string, usageUnit: string, nanos: number, regions = ['us-central1'], usageType = 'OnDemand'): SkuLike => ({
    description, category: { resourceFamily: 'Compute', usageType }, serviceRegions: regions,
    pricingInfo: [{ pricingExpression: { usageUnit, tieredRates: [{ startUsageAmount: 0, unitPrice: { currencyCode: 'USD', units: '0', nanos } }] } }],
  });

  it('takes each family\'s on-demand core and RAM price in the region, ignoring Spot, commitments and other regions', () => {
    const rates = familyRates([
      sku('E2 Instance Core running in Americas', 'h', 21811000),
      sku('E2 Instance Ram running in Americas', 'GiBy.h', 2923000),
      sku('Spot Preemptible E2 Instance Core running in Americas', 'h', 6543000, ['us-central1'], 'Preemptible'),
      sku('E2 Instance Core running in Virginia', 'h', 24567000, ['us-east4']),
      sku('N2D AMD Instance Core running in Americas', 'h', 27502000),
      sku('N2 Instance Core running in Americas', 'h', 31611000),
      sku('N2 Instance Ram running in Americas', 'h', 1), // wrong unit: not a RAM price
    ], 'us-central1');
    expect(rates.get('e2')).toEqual({ core: 0.021811, ram: 0.002923 });
    expect(rates.get('n2d')).toEqual({ core: 0.027502 });
    expect(rates.get('n2')).toEqual({ core: 0.031611, ram: undefined });
  });
});

describe('Azure Retail Prices rows', () => {
  const row: RetailPriceItem = {
    currencyCode: 'USD', retailPrice: 0.096, armRegionName: 'eastus', armSkuName: 'Standard_D2s_v5', productName: 'Virtual Machines Dsv5 Series',
    skuName: 'D2s v5', meterName: 'D2s v5', serviceName: 'Virtual Machines', unitOfMeasure: '1 Hour', type: 'Consumption', isPrimaryMeterRegion: true,
  };

  it('keeps Linux on-demand rows only', () => {
    expect(isLinuxOnDemand(row)).toBe(true);
    expect(isLinuxOnDemand({ ...row, productName: 'Virtual Machines Dsv5 Series Windows' })).toBe(false);
    expect(isLinuxOnDemand({ ...row, skuName: 'D2s v5 Spot', meterName: 'D2s v5 Spot' })).toBe(false);
    expect(isLinuxOnDemand({ ...row, skuName: 'D2s v5 Low Priority' })).toBe(false);
    expect(isLinuxOnDemand({ ...row, type: 'Reservation' })).toBe(false);
    expect(isLinuxOnDemand({ ...row, type: 'DevTestConsumption' })).toBe(false);
  });

  it('names families and architectures', () => {
    expect(azureFamily('Virtual Machines Dsv5 Series', 'Standard_D2s_v5')).toBe('Dsv5');
    expect(azureFamily(undefined, 'Standard_F4s_v2')).toBe('F');
    expect(azureArchitecture('Standard_D2ps_v5')).toBe('arm64');
    expect(azureArchitecture('Standard_E4pds_v5')).toBe('arm64');
    expect(azureArchitecture('Standard_D2s_v5')).toBe('amd64');
    expect(azureArchitecture('Standard_B1ls')).toBe('amd64');
  });
});

describe('DigitalOcean sizes', () => {
  it('names the class of a slug', () => {
    expect(doFamily('s-2vcpu-4gb')).toBe('s');
    expect(doFamily('s-2vcpu-4gb-amd')).toBe('s-amd');
    expect(doFamily('s-2vcpu-8gb-160gb-intel')).toBe('s-intel');
    expect(doFamily('so1_5-2vcpu-16gb')).toBe('so1_5');
    expect(doFamily('c-2')).toBe('c');
  });
});
