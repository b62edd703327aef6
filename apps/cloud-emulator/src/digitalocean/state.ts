import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { CloudContext, InventoryItem } from '../core/types';
import { isVisible, stampNow } from '../core/consistency';
import type { Account } from './model';

/** Account limits as DigitalOcean sets them for a new account. */
export const DEFAULT_DROPLET_LIMIT = 25;

/** A timestamp as DigitalOcean writes it: ISO 8601 in UTC, whole seconds (`2026-01-02T03:04:05Z`). */
export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `key:value` tag strings as key → value (split on the first colon; a tag without one maps to ''). */
export function splitTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf(':');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What the whole DigitalOcean module shares: the core context, the accounts by API token, and the id counters
 * (Droplet, action and SSH key ids are integers unique across DigitalOcean, so across the sandbox's accounts too).
 */
export class DoState {
  readonly byToken = new Map<string, Account>();
  private nextDropletId = 400_000_000 + randomInt(1_000_000);
  private nextActionId = 2_300_000_000 + randomInt(1_000_000);
  private nextKeyId = 41_000_000 + randomInt(1_000_000);
  /** Admin price overrides (`PUT /admin/prices`): size slug → USD/hour (DigitalOcean prices sizes, not regions). */
  readonly priceOverrides = new Map<string, number>();

  constructor(readonly ctx: CloudContext) {}

  dropletId(): number {
    return this.nextDropletId++;
  }

  actionId(): number {
    return this.nextActionId++;
  }

  keyId(): number {
    return this.nextKeyId++;
  }

  /** Eventual consistency: whether reads may see a resource yet (core/consistency.ts); an unseen one reads as missing. */
  seen(r: { createdAtMs: number }): boolean {
    return isVisible(this.ctx, 'digitalocean', r.createdAtMs);
  }

  /** A creation stamp on the sandbox clock (`createdAtMs`). */
  stamp(): number {
    return stampNow(this.ctx);
  }

  /**
   * A new account with a fresh personal access token (`dop_v1_` + 64 hex) and what DigitalOcean gives every new
   * account: its default project (`first-project`), which is not a leftover (`inventory()` leaves it out).
   */
  createAccount(): Account {
    const token = `dop_v1_${randomBytes(32).toString('hex')}`;
    const uuid = randomUUID();
    const createdAt = now();
    const project = {
      id: randomUUID(),
      name: 'first-project',
      description: 'Update your project information under Settings',
      purpose: 'Operational / Developer tooling',
      environment: 'Development' as const,
      isDefault: true,
      createdAt,
      updatedAt: createdAt,
    };
    const acct: Account = {
      uuid,
      token,
      email: `sandbox-${uuid.slice(0, 8)}@example.com`,
      dropletLimit: DEFAULT_DROPLET_LIMIT,
      createdAt,
      vpcs: new Map(),
      firewalls: new Map(),
      droplets: new Map(),
      tags: new Map(),
      keys: new Map(),
      projects: new Map([[project.id, project]]),
      actions: new Map(),
    };
    this.byToken.set(token, acct);
    return acct;
  }

  authenticate(token: string | undefined): Account | undefined {
    return token ? this.byToken.get(token) : undefined;
  }

  /**
   * What the accounts hold that someone made: VPCs, firewalls, Droplets, SSH keys and non-default projects. The
   * default project every account has is left out; actions are history, not resources.
   */
  inventory(): InventoryItem[] {
    const items: InventoryItem[] = [];
    for (const a of this.byToken.values()) {
      for (const v of a.vpcs.values()) {
        // VPCs have no tags in DigitalOcean; ownership is carried in the description (`skyweave-cluster=<uuid>`).
        const m = /(?:^|\s)skyweave-cluster=([0-9a-f-]{36})(?:\s|$)/i.exec(v.description);
        items.push({ cloud: 'digitalocean', account: a.uuid, region: v.region, kind: 'vpc', id: v.id, name: v.name, tags: m ? { 'skyweave-cluster': m[1] } : {} });
      }
      for (const f of a.firewalls.values()) {
        // A firewall's `tags` are its targets. A target tag `skyweave-<role>:<cluster uuid>` names the owning cluster.
        const tags = splitTags(f.tags);
        const owner = Object.entries(tags).find(([k, v]) => k.startsWith('skyweave-') && UUID_RE.test(v));
        if (owner && tags['skyweave-cluster'] === undefined) tags['skyweave-cluster'] = owner[1];
        items.push({ cloud: 'digitalocean', account: a.uuid, kind: 'firewall', id: f.id, name: f.name, tags });
      }
      for (const d of a.droplets.values()) {
        items.push({ cloud: 'digitalocean', account: a.uuid, region: d.region.slug, kind: 'droplet', id: String(d.id), name: d.name, tags: splitTags(d.tags) });
      }
      for (const k of a.keys.values()) items.push({ cloud: 'digitalocean', account: a.uuid, kind: 'ssh-key', id: String(k.id), name: k.name, tags: {} });
      for (const p of a.projects.values()) if (!p.isDefault) items.push({ cloud: 'digitalocean', account: a.uuid, kind: 'project', id: p.id, name: p.name, tags: {} });
    }
    return items;
  }
}
