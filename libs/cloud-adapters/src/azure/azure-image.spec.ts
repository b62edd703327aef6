import { azureNodeImage } from './azure-provider';

describe('azureNodeImage', () => {
  it("boots Arm sizes from Canonical's arm64 SKU and every other size from the x64 one", () => {
    for (const size of ['Standard_D2ps_v5', 'Standard_B2pls_v2', 'Standard_E4pds_v5']) expect([size, azureNodeImage(size).sku]).toEqual([size, 'server-arm64']);
    for (const size of ['Standard_B2s', 'Standard_D2s_v5', 'Standard_D4as_v5', 'Standard_F2s_v2']) expect([size, azureNodeImage(size).sku]).toEqual([size, 'server']);
    expect(azureNodeImage('Standard_B2s')).toEqual({ publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' });
  });
});
