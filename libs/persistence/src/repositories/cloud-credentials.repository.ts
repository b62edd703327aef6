import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import type { CloudId } from '@skyweave/domain';
import { CloudCredentialEntity } from '../entities/entities';
import { BaseRepository, OrgScope, SystemScope } from './scope';

/** The columns stored credentials are written with (`ciphertext`: the SecretBox-sealed JSON of the credentials). */
export type NewCloudCredentials = Pick<CloudCredentialEntity, 'id' | 'cloud' | 'name' | 'identity' | 'ciphertext'>;

/**
 * The `cloud_credentials` table: one sealed set per organisation and cloud. Org-scoped: another organisation's
 * credentials are "not found", never listed, replaced or deleted.
 */
export class CloudCredentialsRepository extends BaseRepository {
  /** The organisation's credentials `id`, or null. */
  async findById(scope: OrgScope, id: string): Promise<CloudCredentialEntity | null> {
    return this.ds.getRepository(CloudCredentialEntity).findOneBy({ id, organisationId: scope.organisationId });
  }

  /** The organisation's credentials for `cloud` (at most one set), or null. */
  async findByCloud(scope: OrgScope, cloud: CloudId): Promise<CloudCredentialEntity | null> {
    return this.ds.getRepository(CloudCredentialEntity).findOneBy({ organisationId: scope.organisationId, cloud });
  }

  /** The organisation's credentials for any of `clouds`. */
  async findByClouds(scope: OrgScope, clouds: readonly CloudId[]): Promise<CloudCredentialEntity[]> {
    return this.ds.getRepository(CloudCredentialEntity).findBy({ organisationId: scope.organisationId, cloud: In([...clouds]) });
  }

  /** Every set of the organisation, oldest first. */
  async list(scope: OrgScope): Promise<CloudCredentialEntity[]> {
    return this.ds.getRepository(CloudCredentialEntity).find({ where: { organisationId: scope.organisationId }, order: { createdAt: 'ASC' } });
  }

  /**
   * Stores a new set for the organisation. @returns the row as stored (with `createdAt`).
   * @throws QueryFailedError 23505 when the organisation has a set for that cloud already (unique index).
   */
  async insert(scope: OrgScope, row: NewCloudCredentials, em?: EntityManager): Promise<CloudCredentialEntity> {
    const entity = this.m(em).getRepository(CloudCredentialEntity).create({ ...row, organisationId: scope.organisationId });
    await this.m(em).getRepository(CloudCredentialEntity).insert(entity);
    return entity;
  }

  /** Replaces the name, identity and ciphertext of the organisation's set `id`. @returns rows changed (0: not found). */
  async replace(scope: OrgScope, id: string, set: Pick<CloudCredentialEntity, 'name' | 'identity' | 'ciphertext'>, em?: EntityManager): Promise<number> {
    const res = await this.m(em).getRepository(CloudCredentialEntity).update({ organisationId: scope.organisationId, id }, set);
    return res.affected ?? 0;
  }

  /** Deletes the organisation's set `id`. @returns rows deleted (0: not found). */
  async delete(scope: OrgScope, id: string): Promise<number> {
    const res = await this.ds.getRepository(CloudCredentialEntity).delete({ id, organisationId: scope.organisationId });
    return res.affected ?? 0;
  }

  /**
   * Across organisations (the leak sweep): which organisation has credentials for which cloud — never the secret.
   * SystemScope: the sweep lists every account the platform was given.
   */
  async accounts(_scope: SystemScope): Promise<{ organisationId: string; cloud: CloudId }[]> {
    const rows = await this.ds.getRepository(CloudCredentialEntity).find({ select: { organisationId: true, cloud: true } });
    return rows.map((r) => ({ organisationId: r.organisationId, cloud: r.cloud }));
  }
}
