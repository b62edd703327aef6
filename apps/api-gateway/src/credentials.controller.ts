import { Body, Controller, Delete, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { CloudCredentials, CloudEndpoints, createCloudProvider, isInvalidCredentials, isCloudError } from '@skyweave/cloud-adapters';
import { CloudCredentialEntity, ClusterEntity, SecretBox } from '@skyweave/persistence';
import { ApiKeyGuard, CallerOrg } from './auth';
import { CREDENTIAL_DTOS, CreateCloudCredentialDto } from './dtos';
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
    const dto: object = plainToInstance(CREDENTIAL_DTOS[body.cloud] as new () => object, body.credentials);
    const errors = toViolations(await validate(dto, { whitelist: true, forbidNonWhitelisted: true }), 'credentials');
    if (errors.length) throw Problem.validation(errors);
    const creds = { cloud: body.cloud, [body.cloud]: { ...body.credentials } } as unknown as CloudCredentials;
    const existing = await this.ds.getRepository(CloudCredentialEntity).findOneBy({ organisationId, cloud: body.cloud });
    if (existing) throw new Problem(409, 'credentials-exist', 'Credentials already exist', `this organisation already has ${body.cloud} credentials (${existing.id}); delete them first`);
    try {
      await createCloudProvider(creds, this.endpoints).verifyCredentials();
    } catch (e) {
      if (isInvalidCredentials(e)) throw new Problem(422, 'invalid-credentials', 'The cloud refused the credentials', e.message, [{ field: 'credentials', rule: 'accepted-by-cloud', message: e.message }]);
      if (isCloudError(e)) throw new Problem(503, 'cloud-unavailable', 'The cloud could not be reached', e.message, undefined, { 'retry-after': '5' });
      throw e;
    }
    const row = this.ds.getRepository(CloudCredentialEntity).create({
      id: randomUUID(), organisationId, cloud: body.cloud, name: body.name ?? body.cloud, identity: identityOf(creds), ciphertext: this.box.seal(JSON.stringify(creds)),
    });
    await this.ds.getRepository(CloudCredentialEntity).insert(row);
    return view(row);
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
    if (inUse) throw new Problem(409, 'credentials-in-use', 'Credentials in use', `${inUse} cluster(s) still use ${row.cloud}; delete them first`);
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
