import type { DataSource } from 'typeorm';
import type { CloudId } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, CloudProvider, createCloudProvider } from '@skyweave/cloud-adapters';
import { CloudCredentialEntity, SecretBox } from '@skyweave/persistence';

/** Thrown when an organisation has no credentials for a cloud its cluster uses. */
export class MissingCredentialsError extends Error {
  constructor(public readonly cloud: CloudId) {
    super(`no credentials for ${cloud}`);
  }
}

/**
 * Decrypts an organisation's cloud credentials and builds providers. One provider (with its own SDK clients) per
 * credential row, cached by row id + ciphertext, so two organisations never share a client.
 */
export class CredentialVault {
  private readonly cache = new Map<string, { sealed: string; provider: CloudProvider }>();
  constructor(private readonly ds: DataSource, private readonly box: SecretBox, private readonly endpoints: CloudEndpoints) {}

  /** @throws MissingCredentialsError when the organisation has none for `cloud`. */
  async providerFor(organisationId: string, cloud: CloudId): Promise<CloudProvider> {
    const row = await this.ds.getRepository(CloudCredentialEntity).findOneBy({ organisationId, cloud });
    if (!row) throw new MissingCredentialsError(cloud);
    const hit = this.cache.get(row.id);
    if (hit && hit.sealed === row.ciphertext) return hit.provider;
    const credentials = JSON.parse(this.box.open(row.ciphertext)) as CloudCredentials;
    const provider = createCloudProvider(credentials, this.endpoints);
    this.cache.set(row.id, { sealed: row.ciphertext, provider });
    return provider;
  }
}
