import { Body, Controller, Delete, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import type { CloudId } from '@skyweave/domain';
import { EventReason } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, CloudError, allowedTokenUris, createCloudProvider, isAllowedTokenUri, isInvalidCredentials, isCloudError } from '@skyweave/cloud-adapters';
import { Subjects } from '@skyweave/contracts';
import { CloudCredentialEntity, LifecycleRepository, OrgScope, Repositories, SecretBox, enqueue, orgScope, recordEvent } from '@skyweave/persistence';
import { CallerOrg } from './auth';
import { MinRole } from './access';
import { CREDENTIAL_DTOS, CreateCloudCredentialDto, ReplaceCloudCredentialDto } from './dtos';
import { Problem, toViolations } from './problem';
import { CLOUD_ENDPOINTS, DATA_SOURCE, SECRET_BOX } from './tokens';

/** What the API shows of stored credentials: never the secret. */
function view(c: CloudCredentialEntity) {
  return { id: c.id, cloud: c.cloud, name: c.name, identity: c.identity, createdAt: c.createdAt };
}

@ApiTags('cloud-credentials')
@ApiBearerAuth()
@Controller('v1/cloud-credentials')
export class CredentialsController {
  private readonly repos: Repositories;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(CLOUD_ENDPOINTS) private readonly endpoints: CloudEndpoints,
  ) {
    this.repos = new Repositories(ds);
  }

  /**
   * Stores one cloud's credentials for the organisation (one set per cloud), after checking them with one read
   * against the cloud. 422 when the shape is wrong or the cloud refuses them; 409 when the cloud already has a set.
   */
  @Post()
  @MinRole('member')
  async create(@CallerOrg() organisationId: string, @Body() body: CreateCloudCredentialDto) {
    const scope = orgScope(organisationId);
    const creds = await this.checked(body.cloud, body.credentials);
    const existing = await this.repos.credentials.findByCloud(scope, body.cloud);
    if (existing) throw credentialsExist(body.cloud, existing.id);
    await this.verified(creds);
    const fields = { id: randomUUID(), cloud: body.cloud, name: body.name ?? body.cloud, identity: identityOf(creds), ciphertext: this.box.seal(JSON.stringify(creds)) };
    let row: CloudCredentialEntity;
    try {
      row = await this.ds.transaction(async (em) => {
        const stored = await this.repos.credentials.insert(scope, fields, em);
        await this.wake(em, scope, body.cloud, 'added');
        return stored;
      });
    } catch (e) {
      // a concurrent create of the same cloud won the race: the unique (organisation, cloud) index refused this one
      if (!isUniqueViolation(e)) throw e;
      const winner = await this.repos.credentials.findByCloud(scope, body.cloud);
      throw credentialsExist(body.cloud, winner?.id);
    }
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
  @MinRole('member')
  async replace(@CallerOrg() organisationId: string, @Param('id', new ParseUUIDPipe()) id: string, @Body() body: ReplaceCloudCredentialDto) {
    const scope = orgScope(organisationId);
    const row = await this.repos.credentials.findById(scope, id);
    if (!row) throw Problem.notFound(`cloud credentials ${id}`);
    if (body.cloud !== undefined && body.cloud !== row.cloud) {
      throw Problem.validation([{ field: 'cloud', rule: 'same-cloud', message: `these are ${row.cloud} credentials; they can only be replaced by ${row.cloud} credentials` }]);
    }
    const creds = await this.checked(row.cloud, body.credentials);
    await this.verified(creds);
    const replaced = { name: body.name ?? row.name, identity: identityOf(creds), ciphertext: this.box.seal(JSON.stringify(creds)) };
    await this.ds.transaction(async (em) => {
      if (!(await this.repos.credentials.replace(scope, id, replaced, em))) throw Problem.notFound(`cloud credentials ${id}`);
      await this.wake(em, scope, row.cloud, 'replaced');
    });
    return view({ ...row, ...replaced });
  }

  /**
   * Shape check of one cloud's credentials. A GCP key file's `token_uri` must be Google's token endpoint (or the
   * sandbox's, when endpoints are overridden): rule `google-token-endpoint` (issue 10, finding 1: SSRF).
   * @throws Problem 422 naming each field and rule.
   */
  private async checked(cloud: CloudId, credentials: Record<string, unknown>): Promise<CloudCredentials> {
    const dto: object = plainToInstance(CREDENTIAL_DTOS[cloud] as new () => object, credentials);
    const errors = toViolations(await validate(dto, { whitelist: true, forbidNonWhitelisted: true }), 'credentials');
    const tokenUri = credentials.token_uri;
    if (cloud === 'gcp' && typeof tokenUri === 'string' && !isAllowedTokenUri(tokenUri, this.endpoints)) {
      errors.push({ field: 'credentials.token_uri', rule: 'google-token-endpoint', message: `token_uri must be ${allowedTokenUris(this.endpoints).join(' or ')}` });
    }
    if (errors.length) throw Problem.validation(errors);
    return { cloud, [cloud]: { ...credentials } } as unknown as CloudCredentials;
  }

  /**
   * One read against the cloud. The problem names the cloud and its error code only: a remote body (e.g. an OAuth
   * `error_description`) never reaches the caller (issue 10, finding 1).
   * @throws Problem 422 refused by the cloud, 503 unreachable.
   */
  private async verified(creds: CloudCredentials): Promise<void> {
    try {
      await createCloudProvider(creds, this.endpoints).verifyCredentials();
    } catch (e) {
      if (isInvalidCredentials(e)) {
        const message = `${creds.cloud} refused the credentials${codeOf(e)}`;
        throw new Problem(422, 'invalid-credentials', 'The cloud refused the credentials', message, [{ field: 'credentials', rule: 'accepted-by-cloud', message }]);
      }
      if (isCloudError(e)) throw new Problem(503, 'cloud-unavailable', 'The cloud could not be reached', `${creds.cloud} could not be reached${codeOf(e)}`, undefined, { 'retry-after': '5' });
      throw e;
    }
  }

  /** New credentials: what waited on refused or missing ones is retried now (event + `cluster.changed` per cluster). */
  private async wake(em: EntityManager, scope: OrgScope, cloud: CloudId, how: 'added' | 'replaced'): Promise<void> {
    const { organisationId } = scope;
    for (const clusterId of await new LifecycleRepository(em).wakeCredentialWaiters(scope, cloud)) {
      await recordEvent(em, { organisationId, clusterId, reason: EventReason.CredentialsReplaced, message: `${cloud} credentials ${how}: the steps waiting on them are retried now` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `${cloud} credentials ${how}` });
    }
  }

  @Get()
  async list(@CallerOrg() organisationId: string) {
    const rows = await this.repos.credentials.list(orgScope(organisationId));
    return { items: rows.map(view) };
  }

  /** Deletes credentials; refused (409) while a live cluster uses that cloud. */
  @Delete(':id')
  @MinRole('member')
  @HttpCode(204)
  async remove(@CallerOrg() organisationId: string, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    const scope = orgScope(organisationId);
    const row = await this.repos.credentials.findById(scope, id);
    if (!row) throw Problem.notFound(`cloud credentials ${id}`);
    const inUse = await this.repos.clusters.countLiveOnCloud(scope, row.cloud);
    if (inUse) throw new Problem(409, 'credentials-in-use', 'Credentials in use', `${inUse} cluster(s) still use ${row.cloud}; delete them first, or replace the credentials with PUT /v1/cloud-credentials/${id}`);
    await this.repos.credentials.delete(scope, id);
  }
}

/** 409 `credentials-exist`: the organisation already holds credentials for `cloud` (one set per cloud). */
function credentialsExist(cloud: CloudId, id: string | undefined): Problem {
  const where = id ? ` (${id}); replace them with PUT /v1/cloud-credentials/${id}` : '';
  return new Problem(409, 'credentials-exist', 'Credentials already exist', `this organisation already has ${cloud} credentials${where}`);
}

/** PostgreSQL `unique_violation` (SQLSTATE 23505) from TypeORM. */
function isUniqueViolation(e: unknown): boolean {
  return e instanceof QueryFailedError && (e.driverError as { code?: unknown } | undefined)?.code === '23505';
}

/** ` (code X)` when the cloud's error code is a plain identifier (at most 64 characters), else nothing. */
function codeOf(e: CloudError): string {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(e.code) ? ` (code ${e.code})` : '';
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
