import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import {
  CloudCredentialEntity, ClusterEntity, ClusterNetworkEntity, NodeEntity, NodeOperationEntity, OutboxEntity, SecretBox, hashToken,
} from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { Subjects } from '@skyweave/contracts';
import { AgentApi, type NodeCommand } from '@skyweave/contracts';
import type { AwsCredentials, CloudCredentials } from '@skyweave/cloud-adapters';
import { CredentialVault } from '@skyweave/service-kit';
import { Reconciler } from '@skyweave/reconciler/src/reconciler';
import { NodeProvisioner } from '@skyweave/node-provisioner/src/node-provisioner';
import { NetworkProvisioner } from '@skyweave/network-provisioner/src/network-provisioner';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { IsNull } from 'typeorm';
import { freshDatabase } from '../support/db';
import { SandboxKube, startSandboxKube } from '../support/sandbox-kube';

const log = pino({ level: 'silent' });

describe('api-gateway on a real database', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let api: ApiClient;
  let other: ApiClient;
  let anon: ApiClient;
  let orgId: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  // a worker's join writes its bootstrap token into the cluster through its API: master-0's kubeadm init makes one
  let kube: SandboxKube;

  beforeAll(async () => {
    db = await freshDatabase();
    kube = await startSandboxKube();
    app = await createGateway({ ds: db.ds, box, endpoints: kube.endpoints, log, joinLongPollMs: 300, meshLongPollMs: 5000 });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const a = await createOrganisation(db.ds, 'acme');
    const b = await createOrganisation(db.ds, 'globex');
    orgId = a.organisationId;
    api = new ApiClient(url.replace('[::1]', '127.0.0.1'), a.apiKey);
    other = new ApiClient(api.baseUrl, b.apiKey);
    anon = new ApiClient(api.baseUrl);
    // Credentials are checked against the cloud when added through the API (covered end to end); here they are
    // stored directly so that cluster validation can be tested without a cloud.
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: orgId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
  });
  afterAll(async () => {
    await app.close();
    await kube.close();
    await db.drop();
  });

  const valid = { name: 'prod', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 2 }] };

  it('refuses requests without a valid API key (401 problem)', async () => {
    const r = await anon.call('GET', '/v1/clusters');
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect((await new ApiClient(api.baseUrl, 'swk_nope').call('GET', '/v1/clusters')).status).toBe(401);
  });

  it('answers malformed JSON with a 400 problem, not a 500', async () => {
    const r = await api.call<{ type: string }>('POST', '/v1/clusters', '{"name": ');
    expect(r.status).toBe(400);
    expect(r.body.type).toMatch(/malformed-request$/);
  });

  it.each([
    ['unknown cloud', { clouds: ['aws', 'ibm'] }, 'clouds', 'isIn'],
    ['master count other than 1 or 3', { controlPlane: { cloud: 'aws', count: 2 } }, 'controlPlane.count', 'isIn'],
    ['worker count out of bounds', { workers: [{ cloud: 'gcp', count: 21 }] }, 'workers.0.count', 'max'],
    ['negative worker count', { workers: [{ cloud: 'gcp', count: -1 }] }, 'workers.0.count', 'min'],
    ['unknown region', { region: 'mars-north' }, 'region', 'known-region'],
    ['region not available on a chosen cloud', { region: 'eu-north', clouds: ['aws', 'gcp'] }, 'clouds[1]', 'region-available'],
    ['missing credentials for a chosen cloud', { clouds: ['aws', 'gcp', 'azure'] }, 'clouds[2]', 'credentials-present'],
    ['control plane on a cloud outside the cluster', { controlPlane: { cloud: 'azure', count: 1 } }, 'controlPlane.cloud', 'cloud-in-cluster'],
    ['unknown instance type', { controlPlane: { cloud: 'aws', count: 1, instanceType: 'x9.huge' } }, 'controlPlane.instanceType', 'known-instance-type'],
    ['bad name', { name: 'Prod_1' }, 'name', 'matches'],
    ['unknown field', { color: 'blue' }, 'color', 'whitelistValidation'],
    ['clouds more than 10 ms apart (us-central: AWS Ohio ↔ GCP Iowa 12 ms)', { region: 'us-central' }, 'clouds', 'latency-budget'],
    ['unknown mesh mode', { mesh: 'star' }, 'mesh', 'isIn'],
  ])('rejects %s with a 422 naming the field and rule', async (_what, patch, field, rule) => {
    const r = await api.call<{ status: number; errors: { field: string; rule: string }[] }>('POST', '/v1/clusters', { ...valid, ...patch });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, rule })]));
    expect(await db.ds.getRepository(ClusterEntity).countBy({ organisationId: orgId, name: (patch as { name?: string }).name ?? 'prod' })).toBe(0);
  });

  let clusterId: string;
  it('creates a cluster with its networks and nodes, and refuses a duplicate name with 409', async () => {
    const r = await api.call<{ id: string; phase: string; nodes: { role: string; cloud: string; wireguardAddress: string }[]; networks: { cloud: string }[] }>('POST', '/v1/clusters', valid);
    expect(r.status).toBe(202);
    clusterId = r.body.id;
    expect(r.body.phase).toBe('Pending');
    expect(r.body.nodes.map((n) => `${n.role}/${n.cloud}`)).toEqual(['master/aws', 'worker/gcp', 'worker/gcp']);
    // overlay addresses from 10.4.0.0/16, masters first: master-0's is the control-plane endpoint
    expect(r.body.nodes.map((n) => n.wireguardAddress)).toEqual(['10.4.0.1', '10.4.0.2', '10.4.0.3']);
    expect(r.body.networks.map((n) => n.cloud).sort()).toEqual(['aws', 'gcp']);
    const dup = await api.call<{ type: string }>('POST', '/v1/clusters', valid);
    expect(dup.status).toBe(409);
    expect(dup.body.type).toMatch(/cluster-name-taken$/);
  });

  it('replays a write sent again with the same Idempotency-Key, and refuses the key for another request', async () => {
    const body = { ...valid, name: 'idem' };
    const a = await api.call<{ id: string }>('POST', '/v1/clusters', body, { 'idempotency-key': 'create-idem-1' });
    const b = await api.call<{ id: string }>('POST', '/v1/clusters', body, { 'idempotency-key': 'create-idem-1' });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    expect(await db.ds.getRepository(ClusterEntity).countBy({ organisationId: orgId, name: 'idem' })).toBe(1);
    const c = await api.call<{ type: string }>('POST', '/v1/clusters', { ...body, name: 'idem-other' }, { 'idempotency-key': 'create-idem-1' });
    expect(c.status).toBe(422);
    expect(c.body.type).toMatch(/idempotency-key-reused$/);
    // a failed request is not stored: the same key can be used again once the request is fixed
    const bad = await api.call('POST', '/v1/clusters', { ...body, name: 'idem-2', region: 'mars' }, { 'idempotency-key': 'create-idem-2' });
    expect(bad.status).toBe(422);
    expect((await api.call('POST', '/v1/clusters', { ...body, name: 'idem-2' }, { 'idempotency-key': 'create-idem-2' })).status).toBe(202);
  });

  it('hides one organisation\'s cluster from another (404)', async () => {
    expect((await other.call('GET', `/v1/clusters/${clusterId}`)).status).toBe(404);
    expect((await other.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(404);
    expect(((await other.ok<{ items: unknown[] }>('GET', '/v1/clusters')).items)).toEqual([]);
    expect((await api.ok<{ items: { name: string }[] }>('GET', '/v1/clusters')).items.map((c) => c.name).sort()).toEqual(['idem', 'idem-2', 'prod']);
  });

  it('refuses the kubeconfig before the cluster is Ready (409)', async () => {
    expect((await api.call('GET', `/v1/clusters/${clusterId}/kubeconfig`)).status).toBe(409);
  });

  it('lets the reconciler start provisioning: every network ensured, through the outbox', async () => {
    await new Reconciler(db.ds, log).reconcile(orgId, clusterId);
    const c = await api.ok<{ phase: string }>('GET', `/v1/clusters/${clusterId}`);
    expect(c.phase).toBe('Provisioning');
    const rows: { subject: string; payload: { cloud?: string } }[] = await db.ds.query(`SELECT subject, payload FROM outbox WHERE payload->>'clusterId' = $1 ORDER BY id`, [clusterId]);
    expect(rows.filter((r) => r.subject === 'skyweave.v1.network.ensure').map((r) => r.payload.cloud).sort()).toEqual(['aws', 'gcp']);
    const ev = await api.ok<{ items: { reason: string }[] }>('GET', `/v1/clusters/${clusterId}/events`);
    expect(ev.items.map((e) => e.reason)).toEqual(['Created', 'ProvisioningStarted']);
    const after = await api.ok<{ items: { reason: string }[]; next: string }>('GET', `/v1/clusters/${clusterId}/events?after=${(ev.items[0] as unknown as { id: string }).id}`);
    expect(after.items.map((e) => e.reason)).toEqual(['ProvisioningStarted']);
    // a malformed query parameter is a malformed request target: 400 invalid-query (issue 10)
    expect((await api.call('GET', `/v1/clusters/${clusterId}/events?after=x`)).status).toBe(400);
  });

  describe('agent call-backs', () => {
    const token = 'swbt_' + randomBytes(32).toString('base64url');
    let masterId: string;
    let workerId: string;
    const workerToken = 'swbt_' + randomBytes(32).toString('base64url');
    beforeAll(async () => {
      const nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId }, order: { role: 'ASC', ordinal: 'ASC' } });
      masterId = nodes[0].id;
      workerId = nodes[1].id;
      const expires = new Date(Date.now() + 600_000);
      await db.ds.getRepository(NodeEntity).update({ id: masterId }, { phase: 'Booting', bootstrapTokenHash: hashToken(token), bootstrapTokenExpiresAt: expires, privateIp: '10.10.0.4' });
      await db.ds.getRepository(NodeEntity).update({ id: workerId }, { phase: 'Booting', bootstrapTokenHash: hashToken(workerToken), bootstrapTokenExpiresAt: expires });
    });
    /** node-agent's side of the call-back API: POST with a bearer token. */
    const agent = (t: string) => (path: string) =>
      fetch(`${api.baseUrl}/agent/v1/nodes/${path}`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: '{}' });
    let masterToken: string;

    it('exchanges a bootstrap token once and refuses its reuse', async () => {
      const first = await agent(token)(`${masterId}/register`);
      expect(first.status).toBe(200);
      masterToken = ((await first.json()) as { nodeToken: string }).nodeToken;
      expect(masterToken).toMatch(/^swnt_/);
      const again = await agent(token)(`${masterId}/register`);
      expect(again.status).toBe(401);
      expect(((await again.json()) as { detail: string }).detail).toMatch(/already used/);
      // a token is scoped to its node
      expect((await agent(token)(`${workerId}/register`)).status).toBe(401);
    });

    it('answers a registration retried by the same agent (its answer lost) with a new node token, until it asks to join; nobody else', async () => {
      const registrationId = randomBytes(32).toString('base64url');
      const register = (id?: string) => fetch(`${api.baseUrl}/agent/v1/nodes/${workerId}/register`, {
        method: 'POST', headers: { authorization: `Bearer ${workerToken}`, 'content-type': 'application/json' }, body: JSON.stringify(id ? { registrationId: id } : {}),
      });
      const first = await register(registrationId);
      expect(first.status).toBe(200);
      const lost = ((await first.json()) as { nodeToken: string }).nodeToken;
      // the gateway died before the agent read that answer: the agent asks again with the same token and id
      const retried = await register(registrationId);
      expect(retried.status).toBe(200);
      const kept = (await retried.json()) as { nodeToken: string; nodeName: string; mesh?: AgentApi.MeshConfig };
      expect(kept.nodeToken).toMatch(/^swnt_/);
      expect(kept.nodeToken).not.toBe(lost);
      expect(kept.mesh?.interface.address).toMatch(/^10\.4\.\d+\.\d+\/16$/);
      // the lost token was replaced; the token holder without the id (or with another) is refused as before
      expect((await agent(lost)(`${workerId}/join`)).status).toBe(401);
      for (const other of [undefined, randomBytes(32).toString('base64url')]) {
        const r = await register(other);
        expect(r.status).toBe(401);
        expect(((await r.json()) as { detail: string }).detail).toMatch(/already used/);
      }
      expect((await register('short')).status).toBe(422);
      // one registration: one event
      const ev = await api.ok<{ items: { reason: string; object: string | null }[] }>('GET', `/v1/clusters/${clusterId}/events`);
      expect(ev.items.filter((e) => e.reason === 'NodeRegistered' && e.object === `node/${kept.nodeName}`)).toHaveLength(1);
      workerAgentToken = kept.nodeToken;
      workerRegistrationId = registrationId;
    });
    let workerAgentToken: string;
    let workerRegistrationId: string;

    it('orders joins: the first master initialises, a worker waits, then joins', async () => {
      const w = { nodeToken: workerAgentToken };
      expect(((await (await agent(w.nodeToken)(`${workerId}/join`)).json()) as { action: string }).action).toBe('wait');
      const init = (await (await agent(masterToken)(`${masterId}/join`)).json()) as { action: string; kubeadmConfig?: string; files?: { path: string; content: string; mode?: number }[] };
      expect(init.action).toBe('initialise');
      await kube.init(init, { instanceId: masterId, privateIp: '10.10.0.4' });
      expect((await agent(masterToken)(`${masterId}/joined`)).status).toBe(204);
      const join = (await (await agent(w.nodeToken)(`${workerId}/join`)).json()) as { action: string; controlPlaneEndpoint: string; podSubnet: string; serviceSubnet: string };
      expect(join).toMatchObject({ action: 'join', controlPlaneEndpoint: 'control-plane.skyweave.internal:6444', podSubnet: '10.217.0.0/16', serviceSubnet: '10.96.0.0/12' });
      expect((await agent(w.nodeToken)(`${workerId}/joined`)).status).toBe(204);
      expect((await agent(token)(`${workerId}/joined`)).status).toBe(401);
    });

    it('refuses a registration retry once the node has asked to join, even with the right id', async () => {
      const r = await fetch(`${api.baseUrl}/agent/v1/nodes/${workerId}/register`, {
        method: 'POST', headers: { authorization: `Bearer ${workerToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ registrationId: workerRegistrationId }),
      });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/already used/);
    });

    const post = (t: string, path: string, body: unknown) =>
      fetch(`${api.baseUrl}/agent/v1/nodes/${path}`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let workerNodeToken: string;

    it('serves each node its WireGuard interface and peers (other cloud: public endpoint)', async () => {
      const nodes = db.ds.getRepository(NodeEntity);
      await nodes.update({ id: masterId }, { wireguardPublicKey: `${'M'.repeat(43)}=`, publicIp: '203.0.113.10' });
      await nodes.update({ id: workerId }, { wireguardPublicKey: `${'W'.repeat(43)}=`, publicIp: '203.0.113.20', privateIp: '10.0.0.7' });
      workerNodeToken = 'swnt_' + randomBytes(32).toString('base64url');
      await nodes.update({ id: workerId }, { agentTokenHash: hashToken(workerNodeToken) });
      const res = await post(masterToken, `${masterId}/mesh`, {});
      expect(res.status).toBe(200);
      const mesh = (await res.json()) as AgentApi.MeshConfig;
      expect(mesh.interface).toEqual({ address: '10.4.0.1/16', listenPort: 51820, mtu: 1380 });
      expect(mesh.peers).toEqual([expect.objectContaining({ nodeId: workerId, publicKey: `${'W'.repeat(43)}=`, endpoint: '203.0.113.20:51820', allowedIps: [`${mesh.peers[0].address}/32`] })]);
      expect((await post(masterToken, `${masterId}/mesh`, { revision: 'not hex!' })).status).toBe(422);
      expect((await post('swnt_wrong', `${masterId}/mesh`, {})).status).toBe(401);
    });

    it('judges reported round trips into CrossCloudLatency, naming the worst pair', async () => {
      const report = (ms: number) => post(masterToken, `${masterId}/status`, { latencies: [{ peerNodeId: workerId, rttMs: ms }] });
      expect((await report(12.5)).status).toBe(204);
      let c = await api.ok<{ conditions: { type: string; status: string; reason: string; message: string }[]; nodes: { id: string; name: string }[] }>('GET', `/v1/clusters/${clusterId}`);
      const names = c.nodes.filter((n) => n.id === masterId || n.id === workerId).map((n) => n.name);
      const cond = () => c.conditions.find((x) => x.type === 'CrossCloudLatency');
      expect(cond()).toMatchObject({ status: 'False', reason: 'OverBudget' });
      for (const n of names) expect(cond()?.message).toContain(n);
      expect((await report(4)).status).toBe(204);
      c = await api.ok('GET', `/v1/clusters/${clusterId}`);
      expect(cond()).toMatchObject({ status: 'True', reason: 'WithinBudget' });
      const ev = await api.ok<{ items: { reason: string }[] }>('GET', `/v1/clusters/${clusterId}/events`);
      expect(ev.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['CrossCloudLatencyOverBudget', 'CrossCloudLatencyWithinBudget']));
      const bad = await post(masterToken, `${masterId}/status`, { podCidr: '192.168.0.0/24', latencies: [{ peerNodeId: 'x', rttMs: -1 }] });
      expect(bad.status).toBe(422);
      const fields = ((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field).sort();
      expect(fields).toEqual(['latencies.0.peerNodeId', 'latencies.0.rttMs', 'podCidr']);
    });

    it('refuses to remove a master; keeps a removed worker in the mesh while it is drained, and drops it at once when its termination starts', async () => {
      const master = await api.call('DELETE', `/v1/clusters/${clusterId}/nodes/${masterId}`);
      expect(master.status).toBe(422);
      expect(master.body).toMatchObject({ type: expect.stringContaining('workers-only') });
      const current = (await (await post(masterToken, `${masterId}/mesh`, {})).json()) as AgentApi.MeshConfig;
      const removed = await api.call<{ removalRequested: boolean }>('DELETE', `/v1/clusters/${clusterId}/nodes/${workerId}`);
      expect(removed.status).toBe(202);
      expect(removed.body.removalRequested).toBe(true);
      // still a peer: its kubelet must reach the API server while a master's agent drains it
      expect(((await (await post(masterToken, `${masterId}/mesh`, {})).json()) as AgentApi.MeshConfig).revision).toBe(current.revision);
      const started = Date.now();
      const held = post(masterToken, `${masterId}/mesh`, { revision: current.revision });
      await new Promise((r) => setTimeout(r, 300));
      // drained: the reconciler starts the termination (as planReconcile does)
      await db.ds.getRepository(NodeEntity).update({ id: workerId }, { phase: 'Terminating' });
      const next = (await (await held).json()) as AgentApi.MeshConfig;
      expect(next.revision).not.toBe(current.revision);
      expect(next.peers).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
      // the leaving node keeps its address but no peers; removing it again is idempotent
      expect(((await (await post(workerNodeToken, `${workerId}/mesh`, {})).json()) as AgentApi.MeshConfig).peers).toEqual([]);
      expect((await api.call('DELETE', `/v1/clusters/${clusterId}/nodes/${workerId}`)).status).toBe(202);
      const c = await api.ok<{ spec: { workers: { cloud: string; count: number }[] } }>('GET', `/v1/clusters/${clusterId}`);
      expect(c.spec.workers).toEqual([{ cloud: "gcp", count: 1, instanceType: expect.any(String) }]);
    });
  });

  describe('scaling, upgrades, the reconcile lock and agent operations', () => {
    let id: string;
    let masterId: string;
    let masterToken: string;
    const post = (t: string, path: string, body: unknown) =>
      fetch(`${api.baseUrl}/agent/v1/nodes/${path}`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    beforeAll(async () => {
      const r = await api.ok<{ id: string; nodes: { id: string; role: string }[] }>('POST', '/v1/clusters', { ...valid, name: 'scale', kubernetesVersion: '1.31.4' });
      id = r.id;
      masterId = r.nodes.find((n) => n.role === 'master')?.id ?? '';
      masterToken = 'swnt_' + randomBytes(32).toString('base64url');
      await db.ds.getRepository(ClusterEntity).update({ id }, { phase: 'Ready' });
      await db.ds.getRepository(NodeEntity).update({ clusterId: id }, { phase: 'Joined' });
      await db.ds.getRepository(NodeEntity).update({ id: masterId }, { agentTokenHash: hashToken(masterToken) });
    });
    const lease = (seconds: number) => db.ds.query(`UPDATE clusters SET "reconcileLeaseHolder" = 'test', "reconcileLeaseExpiresAt" = now() + make_interval(secs => $2) WHERE id = $1`, [id, seconds]);

    it('GET shows what the nodes are built from (`software`), computed from spec.kubernetesVersion', async () => {
      const c = await api.ok<{ spec: { kubernetesVersion: string }; software: unknown }>('GET', `/v1/clusters/${id}`);
      expect(c.spec.kubernetesVersion).toBe('1.31.4');
      expect(c.software).toEqual({
        image: 'Ubuntu 24.04 LTS (noble)',
        kubernetes: { version: '1.31.4', repository: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/', packageVersion: '1.31.4-1.1' },
        containerd: { package: 'containerd', series: '1.7', origin: 'ubuntu', cgroupDriver: 'systemd' },
        crictl: { package: 'cri-tools', series: '1.31', runtimeEndpoint: 'unix:///run/containerd/containerd.sock' },
      });
    });

    it.each([
      ['a master', { cloud: 'aws', count: 1, role: 'master' }, 'role', 'masters-fixed'],
      ['21 workers', { cloud: 'gcp', count: 21 }, 'count', 'max'],
      ['no workers', { cloud: 'gcp', count: 0 }, 'count', 'min'],
      ['a cloud outside the cluster', { cloud: 'azure', count: 1 }, 'cloud', 'cloud-in-cluster'],
      ['an unknown instance type', { cloud: 'gcp', count: 1, instanceType: 'n9-huge' }, 'instanceType', 'known-instance-type'],
    ])('refuses to add %s with a 422 naming the field and rule, adding nothing', async (_what, body, field, rule) => {
      const before = await db.ds.getRepository(NodeEntity).countBy({ clusterId: id });
      const r = await api.call<{ errors: { field: string; rule: string }[] }>('POST', `/v1/clusters/${id}/nodes`, body);
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, rule })]));
      expect(await db.ds.getRepository(NodeEntity).countBy({ clusterId: id })).toBe(before);
    });

    it('adds workers one node each, with the next names and overlay addresses, and counts them in the spec', async () => {
      const r = await api.call<{ nodes: { name: string; role: string; cloud: string; phase: string; wireguardAddress: string; kubernetesVersion: string }[] }>('POST', `/v1/clusters/${id}/nodes`, { cloud: 'aws', count: 2 });
      expect(r.status).toBe(202);
      expect(r.body.nodes.map((n) => [n.name.replace(/^sw-[0-9a-f]{8}-/, ''), n.role, n.cloud, n.phase, n.wireguardAddress, n.kubernetesVersion])).toEqual([
        ['worker-2', 'worker', 'aws', 'Pending', '10.4.0.4', '1.31.4'], ['worker-3', 'worker', 'aws', 'Pending', '10.4.0.5', '1.31.4'],
      ]);
      const c = await api.ok<{ spec: { workers: { cloud: string; count: number }[] } }>('GET', `/v1/clusters/${id}`);
      expect(c.spec.workers.map((w) => `${w.cloud}:${w.count}`)).toEqual(['gcp:2', 'aws:2']);
    });

    it('upgrades by a newer patch only: 422 for another minor or a downgrade, nothing for the same version, masters fixed', async () => {
      const minor = await api.call<{ errors: { field: string; rule: string; message: string }[] }>('PATCH', `/v1/clusters/${id}`, { kubernetesVersion: '1.32.0' });
      expect(minor.status).toBe(422);
      expect(minor.body.errors[0]).toMatchObject({ field: 'kubernetesVersion', rule: 'patch-upgrade-only', message: expect.stringContaining('within 1.31') });
      expect((await api.call('PATCH', `/v1/clusters/${id}`, { kubernetesVersion: '1.31.3' })).status).toBe(422);
      expect((await api.call('PATCH', `/v1/clusters/${id}`, { kubernetesVersion: 'latest' })).status).toBe(422);
      const masters = await api.call<{ errors: { rule: string }[] }>('PATCH', `/v1/clusters/${id}`, { controlPlane: { count: 3 } });
      expect(masters.status).toBe(422);
      expect(masters.body.errors[0].rule).toBe('masters-fixed');
      expect((await api.call('PATCH', `/v1/clusters/${id}`, { kubernetesVersion: '1.31.4' })).status).toBe(200);
      const ok = await api.call<{ spec: { kubernetesVersion: string } }>('PATCH', `/v1/clusters/${id}`, { kubernetesVersion: '1.31.5' });
      expect(ok.status).toBe(200);
      expect(ok.body.spec.kubernetesVersion).toBe('1.31.5');
    });

    it('refuses changes while a full reconcile holds the lease (409 cluster-reconciling, Retry-After), keeps reads, then applies them', async () => {
      await lease(30);
      const worker0 = await db.ds.getRepository(NodeEntity).findOneByOrFail({ clusterId: id, role: 'worker', ordinal: 0 });
      const attempts: [string, string, unknown][] = [
        ['POST', `/v1/clusters/${id}/nodes`, { cloud: 'gcp', count: 1 }],
        ['PATCH', `/v1/clusters/${id}`, { kubernetesVersion: '1.31.6' }],
        ['DELETE', `/v1/clusters/${id}/nodes/${worker0.id}`, undefined],
        ['DELETE', `/v1/clusters/${id}`, undefined],
      ];
      for (const [method, path, body] of attempts) {
        const r = await api.call<{ type: string; detail: string }>(method, path, body);
        expect([method, path, r.status]).toEqual([method, path, 409]);
        expect(r.body.type).toMatch(/cluster-reconciling$/);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(28);
        expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(30);
      }
      const c = await api.ok<{ reconcile: { reconciling: boolean }; spec: { kubernetesVersion: string } }>('GET', `/v1/clusters/${id}`);
      expect(c.reconcile.reconciling).toBe(true);
      expect(c.spec.kubernetesVersion).toBe('1.31.5');
      expect((await api.ok<{ status: string }>('POST', `/v1/clusters/${id}/reconcile`)).status).toBe('running');
      await lease(-1); // the reconcile ended
      expect((await api.call('POST', `/v1/clusters/${id}/nodes`, { cloud: 'gcp', count: 1 })).status).toBe(202);
      expect((await api.ok<{ status: string }>('POST', `/v1/clusters/${id}/reconcile`)).status).toBe('scheduled');
      const rows: { subject: string }[] = await db.ds.query(`SELECT subject FROM outbox WHERE payload->>'clusterId' = $1 AND subject = 'skyweave.v1.cluster.reconcile'`, [id]);
      expect(rows).toHaveLength(1);
      expect((await api.call('POST', `/v1/clusters/${clusterId}/reconcile`)).status).toBe(409); // not Ready
    });

    it('hands agents their operations by long poll, marks them Running, and takes each result once', async () => {
      const worker = await db.ds.getRepository(NodeEntity).findOneByOrFail({ clusterId: id, role: 'worker', ordinal: 0 });
      const opId = randomUUID();
      const held = post(masterToken, `${masterId}/operations`, {});
      await new Promise((r) => setTimeout(r, 300));
      await db.ds.getRepository(NodeOperationEntity).insert({
        id: opId, organisationId: orgId, clusterId: id, executorNodeId: masterId, targetNodeId: worker.id, kind: 'drain', purpose: 'removal',
        kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: 60, state: 'Pending', message: null, deadlineAt: new Date(Date.now() + 90_000), finishedAt: null,
      });
      const got = (await (await held).json()) as AgentApi.OperationsResponse;
      expect(got.operations).toEqual([{ id: opId, kind: 'drain', targetNodeName: worker.name, timeoutSeconds: 60, deleteNode: true }]);
      expect((await db.ds.getRepository(NodeOperationEntity).findOneByOrFail({ id: opId })).state).toBe('Running');
      expect((await post(masterToken, `${masterId}/operations/${opId}`, { state: 'Done' })).status).toBe(422);
      expect((await post(masterToken, `${masterId}/operations/${randomUUID()}`, { state: 'Succeeded' })).status).toBe(404);
      expect((await post(masterToken, `${masterId}/operations/${opId}`, { state: 'Succeeded', message: 'node drained' })).status).toBe(204);
      expect((await post(masterToken, `${masterId}/operations/${opId}`, { state: 'Failed' })).status).toBe(204);
      expect(await db.ds.getRepository(NodeOperationEntity).findOneByOrFail({ id: opId })).toMatchObject({ state: 'Succeeded', message: 'node drained' });
      const ev = await api.ok<{ items: { reason: string; message: string }[] }>('GET', `/v1/clusters/${id}/events`);
      expect(ev.items.filter((e) => e.reason === 'NodeDrained').map((e) => e.message)).toEqual([expect.stringContaining(`drain of ${worker.name}`)]);
      expect((await post('swnt_wrong', `${masterId}/operations`, {})).status).toBe(401);
    });

    it('records a master\'s certificates from its status report and from a renewal\'s result, and refuses malformed ones', async () => {
      const nodes = db.ds.getRepository(NodeEntity);
      const reported = [{ name: 'admin.conf', expiresAt: '2027-01-02T03:04:05Z' }, { name: 'apiserver', expiresAt: '2027-01-02T03:04:06Z' }];
      expect((await post(masterToken, `${masterId}/status`, { certificates: reported })).status).toBe(204);
      expect((await nodes.findOneByOrFail({ id: masterId })).certificateExpirations).toEqual(reported);
      const bad = await post(masterToken, `${masterId}/status`, { certificates: [{ name: 'API Server', expiresAt: 'next year' }, { name: 'apiserver', expiresAt: '2027-01-02T03:04:06+02:00' }] });
      expect(bad.status).toBe(422);
      expect([...new Set(((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field))].sort()).toEqual(['certificates.0.expiresAt', 'certificates.0.name', 'certificates.1.expiresAt']);

      const master = await nodes.findOneByOrFail({ id: masterId });
      const opId = randomUUID();
      await db.ds.getRepository(NodeOperationEntity).insert({
        id: opId, organisationId: orgId, clusterId: master.clusterId, executorNodeId: masterId, targetNodeId: masterId, kind: 'renew-certificates', purpose: 'certificates',
        kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: 300, state: 'Pending', message: null, deadlineAt: new Date(Date.now() + 330_000), finishedAt: null,
      });
      const got = (await (await post(masterToken, `${masterId}/operations`, {})).json()) as AgentApi.OperationsResponse;
      expect(got.operations).toEqual([{ id: opId, kind: 'renew-certificates', targetNodeName: master.name, timeoutSeconds: 300 }]);
      const renewed = [{ name: 'admin.conf', expiresAt: '2028-01-01T00:00:00Z' }, { name: 'apiserver', expiresAt: '2028-01-01T00:00:01Z' }];
      expect((await post(masterToken, `${masterId}/operations/${opId}`, { state: 'Succeeded', message: 'renewed', certificates: renewed })).status).toBe(204);
      expect((await nodes.findOneByOrFail({ id: masterId })).certificateExpirations).toEqual(renewed);
      const ev = await api.ok<{ items: { reason: string; message: string }[] }>('GET', `/v1/clusters/${master.clusterId}/events?limit=200`);
      expect(ev.items.filter((e) => e.reason === 'CertificatesRenewed').map((e) => e.message)).toEqual([expect.stringContaining('apiserver now expires 2028-01-01T00:00:01Z')]);
    });

    it('records the agent version each call carries, completes that node\'s agent upgrade when its agent comes back on it, and refuses a malformed one', async () => {
      const nodes = db.ds.getRepository(NodeEntity);
      const master = await nodes.findOneByOrFail({ id: masterId });
      const call = (version: string | undefined, path = 'status', body: unknown = {}) => fetch(`${api.baseUrl}/agent/v1/nodes/${masterId}/${path}`, {
        method: 'POST', body: JSON.stringify(body),
        headers: { authorization: `Bearer ${masterToken}`, 'content-type': 'application/json', ...(version ? { [AgentApi.AGENT_VERSION_HEADER]: version } : {}) },
      });
      expect((await call('0.1.0-aaaaaaaaaaaa')).status).toBe(204);
      expect((await nodes.findOneByOrFail({ id: masterId })).agentVersion).toBe('0.1.0-aaaaaaaaaaaa');
      const bad = await call('0.1.0 aaa; rm');
      expect([bad.status, bad.headers.get('content-type')?.split(';')[0], ((await bad.json()) as { type: string }).type])
        .toEqual([400, 'application/problem+json', 'https://skyweave.dev/problems/invalid-agent-version']);
      // an upgrade-agent operation to 0.1.0-bbbbbbbbbbbb, handed out with its bundle
      const opId = randomUUID();
      const agentPackage = { version: '0.1.0-bbbbbbbbbbbb', url: '/v1/agent-packages/0.1.0-bbbbbbbbbbbb/skyweave-node-agent-0.1.0-bbbbbbbbbbbb.js', sha256: 'b'.repeat(64), bytes: 1000 };
      await db.ds.getRepository(NodeOperationEntity).insert({
        id: opId, organisationId: orgId, clusterId: master.clusterId, executorNodeId: masterId, targetNodeId: masterId, kind: 'upgrade-agent', purpose: 'agent-upgrade',
        kubernetesVersion: null, upgradeControlPlane: false, agentPackage, timeoutSeconds: 300, state: 'Pending', message: null, deadlineAt: new Date(Date.now() + 330_000), finishedAt: null,
      });
      const got = (await (await call('0.1.0-aaaaaaaaaaaa', 'operations')).json()) as AgentApi.OperationsResponse;
      expect(got.operations).toEqual([{ id: opId, kind: 'upgrade-agent', targetNodeName: master.name, timeoutSeconds: 300, agentPackage }]);
      // the agent died after installing and before reporting: the restarted one's first call completes the operation
      expect((await call('0.1.0-bbbbbbbbbbbb')).status).toBe(204);
      expect(await db.ds.getRepository(NodeOperationEntity).findOneByOrFail({ id: opId })).toMatchObject({ state: 'Succeeded', message: expect.stringContaining('0.1.0-bbbbbbbbbbbb') });
      expect((await nodes.findOneByOrFail({ id: masterId })).agentVersion).toBe('0.1.0-bbbbbbbbbbbb');
      // its saved result, re-sent, changes nothing
      expect((await call('0.1.0-bbbbbbbbbbbb', `operations/${opId}`, { state: 'Succeeded', agentVersion: '0.1.0-bbbbbbbbbbbb' })).status).toBe(204);
      const ev = await api.ok<{ items: { reason: string; message: string }[] }>('GET', `/v1/clusters/${master.clusterId}/events?limit=200`);
      expect(ev.items.filter((e) => e.reason === 'AgentVersionChanged').map((e) => e.message))
        .toEqual([`${master.name}'s agent runs 0.1.0-bbbbbbbbbbbb (was 0.1.0-aaaaaaaaaaaa); its agent upgrade is done`]);
      const view = await api.ok<{ nodes: { id: string; agentVersion: string | null }[]; agent: { desiredVersion: string | null } }>('GET', `/v1/clusters/${master.clusterId}`);
      expect(view.nodes.find((n) => n.id === masterId)?.agentVersion).toBe('0.1.0-bbbbbbbbbbbb');
      expect(view.agent.desiredVersion).toBeNull(); // this gateway serves no packages
    });
  });

  it('deletes idempotently and only for the owner', async () => {
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(202);
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(202);
    const c = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: clusterId });
    expect(c.deletionRequestedAt).not.toBeNull();
  });

  it('serves the OpenAPI document and the region catalogue', async () => {
    const doc = await anon.ok<{ paths: Record<string, unknown> }>('GET', '/docs/openapi.json');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/clusters', '/v1/clusters/{id}', '/v1/cloud-credentials', '/v1/regions']));
    const regions = await anon.ok<{ items: { id: string; availableOn: string[] }[] }>('GET', '/v1/regions');
    expect(regions.items.find((r) => r.id === 'eu-north')?.availableOn).not.toContain('digitalocean');
  });

  it('serves Prometheus metrics: requests by route pattern and status (no ids in labels), and the process', async () => {
    const mine = await api.ok<{ items: { id: string }[] }>('GET', '/v1/clusters');
    const id = mine.items[0]?.id ?? randomUUID();
    await api.call('GET', `/v1/clusters/${id}`);
    await anon.call('GET', '/v1/clusters');
    const r = await anon.call<string>('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(r.body).toMatch(/skyweave_http_request_duration_seconds_count\{method="GET",route="\/v1\/clusters\/:id",status="(200|404)"\} [1-9]/);
    expect(r.body).toMatch(/skyweave_http_request_duration_seconds_count\{method="GET",route="\/v1\/clusters",status="401"\} [1-9]/);
    expect(r.body).toContain('process_cpu_seconds_total');
    expect(r.body).not.toContain(id);
  });
});

/**
 * Credentials rotation (PUT /v1/cloud-credentials/{id}) against the sandbox cloud through the official SDK, on a real
 * database; the reconciler and provisioners run in-process, their commands taken from the outbox by hand.
 */
describe('cloud credentials: rotation, and a delete stuck on revoked keys', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  let app: INestApplication;
  let api: ApiClient;
  let other: ApiClient;
  let orgId: string;
  let good: AwsCredentials;
  let credentialId: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-creds-'));
    [db, emu] = await Promise.all([freshDatabase(), startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot })]);
    app = await createGateway({ ds: db.ds, box, endpoints: emu.endpoints, log, joinLongPollMs: 300, meshLongPollMs: 5000 });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const a = await createOrganisation(db.ds, 'rotate');
    orgId = a.organisationId;
    api = new ApiClient(url, a.apiKey);
    other = new ApiClient(url, (await createOrganisation(db.ds, 'other')).apiKey);
    good = (emu.modules.aws.createAccount() as Extract<CloudCredentials, { cloud: 'aws' }>).aws;
    credentialId = (await api.ok<{ id: string }>('POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: good })).id;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  const sealed = async () => (await db.ds.getRepository(CloudCredentialEntity).findOneByOrFail({ id: credentialId })).ciphertext;
  const wrongSecret = () => ({ ...good, secretAccessKey: good.secretAccessKey.split('').reverse().join('') });

  it('refuses credentials the cloud does not accept (422 naming the rule) and stores nothing', async () => {
    const before = await sealed();
    const r = await api.call<{ type: string; status: number; errors: { field: string; rule: string }[] }>('PUT', `/v1/cloud-credentials/${credentialId}`, { credentials: wrongSecret() });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.type).toMatch(/invalid-credentials$/);
    expect(r.body.errors).toEqual([expect.objectContaining({ field: 'credentials', rule: 'accepted-by-cloud' })]);
    expect(await sealed()).toBe(before);
  });

  it('refuses a wrong shape, another cloud, an unknown or foreign id, all as problems, storing nothing', async () => {
    const before = await sealed();
    const shape = await api.call<{ errors: { field: string; rule: string }[] }>('PUT', `/v1/cloud-credentials/${credentialId}`, { credentials: { accessKeyId: 'nope', secretAccessKey: 'x' } });
    expect(shape.status).toBe(422);
    expect(shape.body.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['credentials.accessKeyId', 'credentials.secretAccessKey']));
    const cloud = await api.call<{ errors: { field: string; rule: string }[] }>('PUT', `/v1/cloud-credentials/${credentialId}`, { cloud: 'gcp', credentials: good });
    expect(cloud.status).toBe(422);
    expect(cloud.body.errors).toEqual([expect.objectContaining({ field: 'cloud', rule: 'same-cloud' })]);
    expect((await api.call('PUT', `/v1/cloud-credentials/${randomUUID()}`, { credentials: good })).status).toBe(404);
    expect((await other.call('PUT', `/v1/cloud-credentials/${credentialId}`, { credentials: good })).status).toBe(404);
    expect((await api.call('PUT', `/v1/cloud-credentials/${credentialId}`, {})).status).toBe(422);
    expect(await sealed()).toBe(before);
    // a second POST points at PUT instead of a dead end
    const again = await api.call<{ detail: string }>('POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: good });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain(`PUT /v1/cloud-credentials/${credentialId}`);
  });

  it('shows revoked keys as CredentialsValid=False on delete, and the delete proceeds by itself once they are replaced', async () => {
    const vault = new CredentialVault(db.ds, box, emu.endpoints);
    const reconciler = new Reconciler(db.ds, log);
    const nodes = new NodeProvisioner(db.ds, vault, log, 'http://127.0.0.1:1', box);
    const networks = new NetworkProvisioner(db.ds, vault, log);
    const c = await api.ok<{ id: string }>('POST', '/v1/clusters', { name: 'rotated', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [] });
    const clusterId = c.id;
    /** Runs the reconciler's pass, then every command it put in the outbox, as the services would. */
    const drive = async () => {
      await reconciler.reconcile(orgId, clusterId);
      const rows = await db.ds.getRepository(OutboxEntity).find({ where: { publishedAt: IsNull() }, order: { id: 'ASC' } });
      await db.ds.getRepository(OutboxEntity).update({ publishedAt: IsNull() }, { publishedAt: new Date() });
      for (const r of rows) {
        const p = r.payload as unknown as NodeCommand & { cloud: 'aws' };
        if (p.clusterId !== clusterId) continue;
        if (r.subject === Subjects.NetworkEnsure) await networks.ensure(p);
        if (r.subject === Subjects.NetworkDelete) await networks.delete(p);
        if (r.subject === Subjects.NodeLaunch) await nodes.launch(p).catch(() => undefined);
        if (r.subject === Subjects.NodeTerminate) await nodes.terminate(p);
      }
    };
    const view = () => api.ok<{ phase: string; conditions: { type: string; status: string; reason: string; message: string }[]; nodes: { phase: string; waiting: { reason: string } | null }[] }>('GET', `/v1/clusters/${clusterId}`);
    // the network is made with the good keys, and the master is launched in the sandbox
    await drive();
    await drive();
    expect((await db.ds.getRepository(ClusterNetworkEntity).findOneByOrFail({ clusterId })).phase).toBe('Ready');
    expect((await db.ds.getRepository(NodeEntity).findOneByOrFail({ clusterId })).instanceId).not.toBeNull();

    // the keys are revoked at the cloud: the stored set is refused from now on
    await db.ds.getRepository(CloudCredentialEntity).update({ id: credentialId }, { ciphertext: box.seal(JSON.stringify({ cloud: 'aws', aws: wrongSecret() })) });
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(202);
    await drive(); // → Deleting; terminate refused
    await drive();
    let v = await view();
    expect(v.phase).toBe('Deleting');
    expect(v.nodes[0]).toMatchObject({ phase: 'Terminating', waiting: { reason: 'InvalidCredentials' } });
    expect(v.conditions.find((x) => x.type === 'CredentialsValid')).toMatchObject({ status: 'False', reason: 'InvalidCredentials', message: expect.stringContaining('AWS') });
    // not re-sent on every pass: the terminate waits out its backoff
    const stuck = await db.ds.getRepository(NodeEntity).findOneByOrFail({ clusterId });
    expect(stuck.retryAt!.getTime()).toBeGreaterThan(Date.now());
    await reconciler.reconcile(orgId, clusterId);
    expect(await db.ds.getRepository(OutboxEntity).countBy({ publishedAt: IsNull(), subject: Subjects.NodeTerminate })).toBe(0);

    // the keys are replaced: the delete proceeds by itself, and the cluster is gone with everything in the sandbox
    const put = await api.call<Record<string, unknown>>('PUT', `/v1/cloud-credentials/${credentialId}`, { credentials: good, name: 'rotated-aws' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: credentialId, cloud: 'aws', name: 'rotated-aws', identity: good.accessKeyId });
    expect(JSON.stringify(put.body)).not.toContain(good.secretAccessKey);
    for (let i = 0; i < 4 && (await view()).phase !== 'Deleted'; i++) await drive();
    v = await view();
    expect(v.phase).toBe('Deleted');
    expect(v.conditions.find((x) => x.type === 'CredentialsValid')).toMatchObject({ status: 'True' });
    const left = (await (await fetch(`${emu.adminUrl}/admin/resources?cloud=aws`)).json()) as { resources: { tags: Record<string, string> }[] };
    expect(left.resources.filter((r) => r.tags['skyweave-cluster'] === clusterId)).toEqual([]);
  }, 60_000);
});
