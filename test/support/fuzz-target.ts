import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { ApiKeyEntity, CloudCredentialEntity, NodeEntity, NodeOperationEntity, SecretBox, hashToken, newToken } from '@skyweave/persistence';
import { createGateway, gatewayRoutes } from '@skyweave/api-gateway/src/app';
import { startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import type { FuzzRoute, JsonSchema } from '@skyweave/tools/fuzz/routes';
import { expressToTemplate, templateParams } from '@skyweave/tools/fuzz/routes';
import type { FuzzTarget } from '@skyweave/tools/fuzz/target';
import { freshDatabase } from './db';

/**
 * Body schemas of the agent routes (they are excluded from the OpenAPI document), mirroring the DTOs of
 * apps/api-gateway/src/dtos.ts (RegisterNodeDto, MeshRequestDto, StatusReportDto, OperationResultDto). A route of
 * the gateway's table missing here is attacked without a body.
 */
const AGENT_BODIES: Record<string, JsonSchema> = {
  'POST /agent/v1/nodes/{nodeId}/register': { type: 'object', properties: { wireguardPublicKey: { type: 'string' }, privateIp: { type: 'string' }, publicIp: { type: 'string' } } },
  'POST /agent/v1/nodes/{nodeId}/mesh': { type: 'object', properties: { revision: { type: 'string' } } },
  'POST /agent/v1/nodes/{nodeId}/status': {
    type: 'object',
    properties: {
      podCidr: { type: 'string' },
      latencies: { type: 'array', maxItems: 503, items: { type: 'object', required: ['peerNodeId', 'rttMs'], properties: { peerNodeId: { type: 'string', format: 'uuid' }, rttMs: { type: 'number', minimum: 0, maximum: 60_000, nullable: true } } } },
    },
  },
  'POST /agent/v1/nodes/{nodeId}/operations/{operationId}': {
    type: 'object', required: ['state'], properties: { state: { type: 'string', enum: ['Succeeded', 'Failed'] }, message: { type: 'string' }, kubeletVersion: { type: 'string' } },
  },
};

/** A FuzzTarget with its own gateway, sandbox cloud and database; `close()` stops and drops them. */
export interface RunningFuzzTarget extends FuzzTarget { close(): Promise<void>; app: INestApplication }

/**
 * Starts a gateway in-process (long polls of 50 ms, so that a valid `/join`, `/mesh` or `/operations` poll does not
 * hold the fuzzer) on a fresh database, with the sandbox cloud (emulator) behind it, and seeds through the API what
 * requests can name: an organisation and its API key (and a deleted one), AWS and GCP credentials of sandbox
 * accounts (stored directly), a cluster of 1 master and 2 workers whose nodes get node tokens (and node 0 a bootstrap token), an
 * operation for node 0. Logs at `warn` to `log` (default: dropped).
 */
export async function startFuzzTarget(log: (line: string) => void = () => undefined): Promise<RunningFuzzTarget> {
  const vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-fuzz-'));
  const [db, emu] = await Promise.all([freshDatabase(), startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot })]);
  const logger = pino({ level: 'warn' }, { write: (s: string) => log(s.trimEnd()) });
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const app = await createGateway({ ds: db.ds, box, endpoints: emu.endpoints, log: logger, joinLongPollMs: 50, meshLongPollMs: 50, sseMaxStreamMs: 50 });
  await app.listen(0, '127.0.0.1');
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  try {
    const org = await createOrganisation(db.ds, 'fuzz');
    const revokedApiKey = newToken('swk');
    const revokedId = randomUUID();
    await db.ds.getRepository(ApiKeyEntity).insert({ id: revokedId, organisationId: org.organisationId, name: 'revoked', secretHash: hashToken(revokedApiKey) });
    await db.ds.getRepository(ApiKeyEntity).delete({ id: revokedId });
    const api = new ApiClient(baseUrl, org.apiKey);
    const credential: string[] = [];
    const samples: Record<string, unknown[]> = { credentials: [] };
    // stored as POST /v1/cloud-credentials would after its check against the cloud (which loads the cloud SDKs: ~15 s)
    for (const cloud of ['aws', 'gcp'] as const) {
      const credentials = await sandboxAccount(emu.adminUrl, cloud);
      samples.credentials.push(credentials);
      const id = randomUUID();
      await db.ds.getRepository(CloudCredentialEntity).insert({ id, organisationId: org.organisationId, cloud, name: cloud, identity: cloud, ciphertext: box.seal(JSON.stringify(credentials)) });
      credential.push(id);
    }
    const clusterId = (await api.ok<{ id: string }>('POST', '/v1/clusters', {
      name: 'fuzz-seed', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 2 }],
    })).id;
    const nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId }, order: { role: 'ASC', ordinal: 'ASC' } });
    const nodeTokens: string[] = [];
    for (const n of nodes) {
      const token = newToken('swnt');
      nodeTokens.push(token);
      await db.ds.getRepository(NodeEntity).update({ id: n.id }, { agentTokenHash: hashToken(token), phase: 'Registered' });
    }
    const bootstrapToken = newToken('swbt');
    await db.ds.getRepository(NodeEntity).update({ id: nodes[0].id }, { bootstrapTokenHash: hashToken(bootstrapToken), bootstrapTokenExpiresAt: new Date(Date.now() + 3_600_000) });
    const operationId = randomUUID();
    await db.ds.getRepository(NodeOperationEntity).insert({
      id: operationId, organisationId: org.organisationId, clusterId, executorNodeId: nodes[0].id, targetNodeId: nodes[1].id, kind: 'drain', purpose: 'removal', state: 'Pending', timeoutSeconds: 60, deadlineAt: new Date(Date.now() + 3_600_000),
    });
    const agentRoutes: FuzzRoute[] = gatewayRoutes().filter((r) => r.path.startsWith('/agent/')).map((r) => {
      const p = expressToTemplate(r.path);
      const body = AGENT_BODIES[`${r.method} ${p}`];
      return { method: r.method, path: p, auth: 'node-token', pathParams: templateParams(p), query: [], ...(body ? { body } : {}) };
    });
    return {
      app, baseUrl, apiKey: org.apiKey, revokedApiKey, nodeTokens, bootstrapToken, agentRoutes, samples,
      ids: { cluster: [clusterId], node: nodes.map((n) => n.id), credential, operation: [operationId] },
      async close() {
        await app.close();
        await db.drop();
        await emu.close();
        rmSync(vmRoot, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await app.close();
    await db.drop();
    await emu.close();
    rmSync(vmRoot, { recursive: true, force: true });
    throw e;
  }
}
