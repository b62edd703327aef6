/**
 * `npm run test:fidelity [-- --cloud aws|gcp|azure|digitalocean]`: the sandbox cloud checked as a user's
 * own tooling would use it (issue 15). For each cloud, a fresh sandbox account gets a live piece of a cluster through
 * Skyweave's adapter (network + one running worker); then every check of `test/fidelity/<cloud>.ts` runs through the
 * official SDK: common reads (served, parsed, documented fields present) and error edge cases (status and code as the
 * cloud's API reference gives them). Prints one row per check and, last,
 * `fidelity: X of Y calls served; Z of W error shapes match`. Exits 1 unless X = Y and Z = W.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createCloudProvider } from '@skyweave/cloud-adapters';
import { CLOUDS, CloudId, FIREWALL_PLAN, fixedNetworkCidrs, resourcePrefix } from '@skyweave/domain';
import { startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import type { CloudFixture, FidelityCheck } from './types';
import { checks as awsChecks } from './aws';
import { checks as gcpChecks } from './gcp';
import { checks as azureChecks } from './azure';
import { checks as digitalOceanChecks } from './digitalocean';

const CHECKS: Record<CloudId, FidelityCheck[]> = { aws: awsChecks, gcp: gcpChecks, azure: azureChecks, digitalocean: digitalOceanChecks };
const PLACE: Record<CloudId, { region: string; zone: string; instanceType: string }> = {
  aws: { region: 'us-east-1', zone: 'us-east-1a', instanceType: 't3.medium' },
  gcp: { region: 'us-east4', zone: 'us-east4-a', instanceType: 'e2-standard-2' },
  azure: { region: 'eastus', zone: '1', instanceType: 'Standard_B2s' },
  digitalocean: { region: 'nyc1', zone: 'nyc1', instanceType: 's-2vcpu-4gb' },
};

interface Outcome {
  cloud: CloudId;
  check: FidelityCheck;
  ok: boolean;
  detail: string;
  ms: number;
}

async function fixtureFor(cloud: CloudId, emu: Awaited<ReturnType<typeof startEmulator>>): Promise<CloudFixture> {
  const credentials = emu.modules[cloud].createAccount();
  const provider = createCloudProvider(credentials, emu.endpoints);
  const { region, zone, instanceType } = PLACE[cloud];
  const clusterId = randomUUID();
  const namePrefix = resourcePrefix(clusterId);
  const cidrs = cloud === 'digitalocean' ? { vpcCidr: '', subnetCidr: '' } : fixedNetworkCidrs(cloud);
  const network = await provider.ensureNetwork({ clusterId, namePrefix, region, zone, ...cidrs, firewall: FIREWALL_PLAN });
  const launched = await provider.createInstance({ clusterId, nodeId: randomUUID(), name: `${namePrefix}-worker-0`, role: 'worker', instanceType, userData: '#cloud-config\n{}\n', network });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const i = await provider.getInstance(region, launched.id);
    if (i?.state === 'running') return { cloud, credentials, endpoints: emu.endpoints, region, zone, clusterId, network, instance: i, adminUrl: emu.adminUrl };
    if (Date.now() > deadline) throw new Error(`${cloud}: the fixture's worker is not running after 30 s (state ${i?.state ?? 'missing'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cloud: { type: 'string', multiple: true } } });
  const clouds = (values.cloud ?? [...CLOUDS]) as CloudId[];
  for (const c of clouds) if (!CLOUDS.includes(c)) throw new Error(`--cloud must be one of ${CLOUDS.join(', ')}, got ${c}`);

  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 100 }, allowUnimplemented: true });
  const outcomes: Outcome[] = [];
  try {
    for (const cloud of clouds) {
      const fixture = await fixtureFor(cloud, emu);
      for (const check of CHECKS[cloud]) {
        const t = Date.now();
        try {
          await check.run(fixture);
          outcomes.push({ cloud, check, ok: true, detail: '', ms: Date.now() - t });
        } catch (e) {
          outcomes.push({ cloud, check, ok: false, detail: describe(e), ms: Date.now() - t });
        }
      }
    }
  } finally {
    await emu.close();
  }

  const rows = outcomes.map((o) => [o.cloud, o.check.kind, o.check.case ? `${o.check.operation}: ${o.check.case}` : o.check.operation, o.ok ? 'ok' : 'FAIL', `${o.ms}`, o.ok ? '' : o.detail]);
  const header = ['cloud', 'kind', 'call', 'result', 'ms', 'detail'];
  const widths = header.map((h, i) => Math.min(90, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  for (const o of outcomes.filter((x) => !x.ok)) console.log(`\n${o.cloud} ${o.check.operation}${o.check.case ? ` (${o.check.case})` : ''}: ${o.detail}\n  reference: ${o.check.reference}`);

  const reads = outcomes.filter((o) => o.check.kind === 'read');
  const errors = outcomes.filter((o) => o.check.kind === 'error');
  const served = reads.filter((o) => o.ok).length;
  const matched = errors.filter((o) => o.ok).length;
  console.log(`fidelity: ${served} of ${reads.length} calls served; ${matched} of ${errors.length} error shapes match`);
  if (served !== reads.length || matched !== errors.length) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
