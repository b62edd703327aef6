import { createHash } from 'node:crypto';
import { notFound, unprocessable } from './errors';
import { RouteContext, RouteTable, bodyOf, page } from './context';
import { Account, KeyRec, ownerIdOf, ProjectRec, renderKey, renderProject } from './model';
import { optString, reqString } from './validation';

/**
 * The account: `GET /v2/account`, SSH keys (`/v2/account/keys`, by id or fingerprint) and projects (the default
 * project every account has: `GET /v2/projects`, `/v2/projects/default`, `/v2/projects/:id`).
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Account, #tag/SSH-Keys, #tag/Projects
 */

/** Key types DigitalOcean accepts. */
const KEY_TYPES = ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-dss'];

export const INVALID_KEY_MESSAGE = 'Key invalid, key should be of the format `type key [comment]`';

/**
 * Parses an OpenSSH public key line (`type base64 [comment]`) and answers its fingerprint as DigitalOcean computes it:
 * the MD5 of the decoded key blob, as colon-separated lowercase hex. The blob must name the same type as the line.
 * @returns undefined when the key is not a well-formed public key of a supported type.
 */
export function keyFingerprint(publicKey: string): string | undefined {
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+.*)?$/.exec(publicKey.trim());
  if (!m || !KEY_TYPES.includes(m[1])) return undefined;
  const blob = Buffer.from(m[2], 'base64');
  if (blob.length < 4 + m[1].length) return undefined;
  const n = blob.readUInt32BE(0);
  if (n !== m[1].length || blob.subarray(4, 4 + n).toString('latin1') !== m[1]) return undefined;
  return createHash('md5').update(blob).digest('hex').replace(/(..)(?!$)/g, '$1:');
}

/** A key by id or fingerprint (`/v2/account/keys/{ssh_key_identifier}`). */
export function findKey(a: Account, ref: string | number): KeyRec | undefined {
  const s = String(ref);
  if (/^\d+$/.test(s)) return a.keys.get(Number(s));
  return [...a.keys.values()].find((k) => k.fingerprint === s.toLowerCase());
}

function keyOf(c: RouteContext): KeyRec {
  const k = findKey(c.account, c.params.key);
  if (!k) throw notFound();
  return k;
}

function projectOf(c: RouteContext, id: string): ProjectRec {
  const p = id === 'default' ? [...c.account.projects.values()].find((x) => x.isDefault) : c.account.projects.get(id);
  if (!p) throw notFound();
  return p;
}

/** The project's resources: every Droplet is assigned to the default project when made (the sandbox has no others). */
function projectResources(c: RouteContext, p: ProjectRec) {
  const droplets = p.isDefault ? [...c.account.droplets.values()].filter((d) => c.state.seen(d)) : [];
  return page(c, 'resources', droplets, (d) => ({
    urn: `do:droplet:${d.id}`,
    assigned_at: d.createdAt,
    links: { self: `https://api.digitalocean.com/v2/droplets/${d.id}` },
    status: 'ok',
  }));
}

export const ACCOUNT_ROUTES: RouteTable = {
  // Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/account_get
  'GET /v2/account': {
    op: 'read',
    run: ({ account: a }) => ({
      body: {
        account: {
          droplet_limit: a.dropletLimit,
          floating_ip_limit: 3,
          reserved_ip_limit: 3,
          volume_limit: 100,
          email: a.email,
          name: 'Sandbox User',
          uuid: a.uuid,
          email_verified: true,
          status: 'active',
          status_message: '',
          team: { uuid: a.uuid, name: 'My Team' },
        },
      },
    }),
  },

  // Key writes take no sandbox operation (no latency, no faults), as tag writes.
  'GET /v2/account/keys': { op: 'read', run: (c) => page(c, 'ssh_keys', [...c.account.keys.values()], renderKey) },
  // Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/sshKeys_create
  'POST /v2/account/keys': {
    run: (c) => {
      const body = bodyOf(c);
      const name = reqString(body, 'name', 'Name is required');
      const publicKey = reqString(body, 'public_key', INVALID_KEY_MESSAGE).trim();
      const fingerprint = keyFingerprint(publicKey);
      if (!fingerprint) throw unprocessable(INVALID_KEY_MESSAGE);
      if ([...c.account.keys.values()].some((k) => k.fingerprint === fingerprint)) throw unprocessable('SSH Key is already in use on your account');
      const key: KeyRec = { id: c.state.keyId(), name, publicKey, fingerprint };
      c.account.keys.set(key.id, key);
      return { status: 201, body: { ssh_key: renderKey(key) } };
    },
  },
  'GET /v2/account/keys/:key': { op: 'read', run: (c) => ({ body: { ssh_key: renderKey(keyOf(c)) } }) },
  // Only the name can change.
  'PUT /v2/account/keys/:key': {
    run: (c) => {
      const k = keyOf(c);
      const name = optString(bodyOf(c), 'name');
      if (name !== undefined) {
        if (name.trim() === '') throw unprocessable('Name is required');
        k.name = name;
      }
      return { body: { ssh_key: renderKey(k) } };
    },
  },
  'DELETE /v2/account/keys/:key': {
    run: (c) => {
      c.account.keys.delete(keyOf(c).id);
      return {};
    },
  },

  'GET /v2/projects': { op: 'read', run: (c) => page(c, 'projects', [...c.account.projects.values()], (p) => renderProject(p, c.account)) },
  'GET /v2/projects/default': { op: 'read', run: (c) => ({ body: { project: renderProject(projectOf(c, 'default'), c.account) } }) },
  'GET /v2/projects/:id': { op: 'read', run: (c) => ({ body: { project: renderProject(projectOf(c, c.params.id), c.account) } }) },
  'GET /v2/projects/default/resources': { op: 'read', run: (c) => projectResources(c, projectOf(c, 'default')) },
  'GET /v2/projects/:id/resources': { op: 'read', run: (c) => projectResources(c, projectOf(c, c.params.id)) },
};

export { ownerIdOf };
