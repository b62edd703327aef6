import { Body, Controller, Delete, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { CloudId } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, createCloudProvider, isInvalidCredentials, isCloudError } from '@skyweave/cloud-adapters';
import { Subjects } from '@skyweave/contracts';
import { CloudCredentialEntity, ClusterEntity, LifecycleRepository, SecretBox, enqueue, recordEvent } from '@skyweave/persistence';
import { ApiKeyGuard, CallerOrg } from './auth';
import { CREDENTIAL_DTOS, CreateCloudCredentialDto, ReplaceCloudCredentialDto } from './dtos';
import { Problem, toViolations } from './problem';
import { CLOUD_ENDPOINTS, DATA_SOURCE, SECRET_BOX } from './tokens';

/** What the API shows of stored credentials: never the secret. */
function view(c: CloudCredentialEntity) {
  return { id: c.id, cloud: c.cloud, name: c.name, identity: c.identity, createdAt: c.createdAt };
}

@ApiTags('cloud-credentials')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/cloud-credentials')
export class CredentialsController {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(CLOUD_ENDPOINTS) private readonly endpoints: CloudEndpoints,
  ) {}

  /**
   * Stores one cloud's credentials for the organisation (one set per cloud), after checking them with one read
   * against the cloud. 422 when the shape is wrong or the cloud refuses them; 409 when the cloud already has a set.
   */
  @Post()
  async create(@CallerOrg() organisationId: string, @Body() body: CreateCloudCredentialDto) {
    const creds = await this.checked(body.cloud, body.credentials);
    const existing = await this.ds.getRepository(CloudCredentialEntity).findOneBy({ organisationId, cloud: body.cloud });
    if (existing) throw new Problem(409, 'credentials-exist', 'Credentials already exist', `this organisation already has ${body.cloud} credentials (${existing.id}); replace them with PUT /v1/cloud-credentials/${existing.id}`);
    await this.verified(creds);
    const row = this.ds.getRepository(CloudCredentialEntity).create({
      id: randomUUID(), organisationId, cloud: body.cloud, name: body.name ?? body.cloud, identity: identityOf(creds), ciphertext: this.box.seal(JSON.stringify(creds)),
    });
    await this.ds.transaction(async (em) => {
      await em.getRepository(CloudCredentialEntity).insert(row);
      await this.wake(em, organisationId, body.cloud, 'added');
    });
    return view(row);
  }

  /**
   * Rotates one cloud's credentials: validated and checked against the cloud exactly as on create, then stored in
   * place of the old set (same id, same cloud), never returned. Every node and network waiting on refused or missing
   * credentials for that cloud is retried at once (a stuck delete proceeds), and the vault builds a new provider from
   * the new ciphertext on its next use. @throws Problem 404 unknown id (or another organisation's), 422 wrong shape,
   * another cloud, or refused by the cloud (nothing stored), 503 the cloud unreachable.
   */
  @Put(':id')
  async replace(@CallerOrg() organisationId: string, @Param('id', new ParseUUIDPipe()) id: string, @Body() body: ReplaceCloudCredentialDto) {
    const row = await this.ds.getRepository(CloudCredentialEntity).findOneBy({ organisationId, id });
    if (!row) throw Problem.notFound(`cloud credentials ${id}`);
    if (body.cloud !== undefined && body.cloud !== row.cloud) {
      throw Problem.validation([{ field: 'cloud', rule: 'same-cloud', message: `these are ${row.cloud} credentials; they can only be replaced by ${row.cloud} credentials` }]);
    }
    const creds = await this.checked(row.cloud, body.credentials);
    await this.verified(creds);
    const replaced = { name: body.name ?? row.name, identity: identityOf(creds), ciphertext: this.box.seal(JSON.stringify(creds)) };
    await this.ds.transaction(async (em) => {
      const res = await em.getRepository(CloudCredentialEntity).update({ organisationId, id }, replaced);
      if (!res.affected) throw Problem.notFound(`cloud credentials ${id}`);
      await this.wake(em, organisationId, row.cloud, 'replaced');
    });
    return view({ ...row, ...replaced });
  }

  /** Shape check of one cloud's credentials. @throws Problem 422 naming each field and rule. */
  private async checked(cloud: CloudId, credentials: Record<string, unknown>): Promise<CloudCredentials> {
    const dto: object = plainToInstance(CREDENTIAL_DTOS[cloud] as new () => object, credentials);
    const errors = toViolations(await validate(dto, { whitelist: true, forbidNonWhitelisted: true }), 'credentials');
    if (errors.length) throw Problem.validation(errors);
    return { cloud, [cloud]: { ...credentials } } as unknown as CloudCredentials;
  }

  /** One read against the cloud. @throws Problem 422 refused by the cloud, 503 unreachable. */
  private async verified(creds: CloudCredentials): Promise<void> {
    try {
      await createCloudProvider(creds, this.endpoints).verifyCredentials();
    } catch (e) {
      if (isInvalidCredentials(e)) throw new Problem(422, 'invalid-credentials', 'The cloud refused the credentials', e.message, [{ field: 'credentials', rule: 'accepted-by-cloud', message: e.message }]);
      if (isCloudError(e)) throw new Problem(503, 'cloud-unavailable', 'The cloud could not be reached', e.message, undefined, { 'retry-after': '5' });
      throw e;
    }
  }

  /** New credentials: what waited on refused or missing ones is retried now (event + `cluster.changed` per cluster). */
  private async wake(em: EntityManager, organisationId: string, cloud: CloudId, how: 'added' | 'replaced'): Promise<void> {
    for (const clusterId of await new LifecycleRepository(em).wakeCredentialWaiters({ organisationId }, cloud)) {
      await recordEvent(em, { organisationId, clusterId, reason: 'CredentialsReplaced', message: `${cloud} credentials ${how}: the steps waiting on them are retried now` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `${cloud} credentials ${how}` });
    }
  }

  @Get()
  async list(@CallerOrg() organisationId: string) {
    const rows = await this.ds.getRepository(CloudCredentialEntity).find({ where: { organisationId }, order: { createdAt: 'ASC' } });
    return { items: rows.map(view) };
  }

  /** Deletes credentials; refused (409) while a live cluster uses that cloud. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@CallerOrg() organisationId: string, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    const row = await this.ds.getRepository(CloudCredentialEntity).findOneBy({ id, organisationId });
    if (!row) throw Problem.notFound(`cloud credentials ${id}`);
    const inUse = await this.ds.getRepository(ClusterEntity).createQueryBuilder('c')
      .where('c.organisationId = :organisationId', { organisationId }).andWhere(`c.phase <> 'Deleted'`)
      .andWhere(`c.spec -> 'clouds' ? :cloud`, { cloud: row.cloud }).getCount();
    if (inUse) throw new Problem(409, 'credentials-in-use', 'Credentials in use', `${inUse} cluster(s) still use ${row.cloud}; delete them first, or replace the credentials with PUT /v1/cloud-credentials/${id}`);
    await this.ds.getRepository(CloudCredentialEntity).delete({ id, organisationId });
  }
}

/** A non-secret identity of the credentials, for display. */
function identityOf(c: CloudCredentials): string {
  switch (c.cloud) {
    case 'aws': return c.aws.accessKeyId;
    case 'gcp': return c.gcp.client_email;
    case 'azure': return `${c.azure.clientId} @ subscription ${c.azure.subscriptionId}`;
    case 'digitalocean': return `token …${c.digitalocean.token.slice(-4)}`;
  }
}
