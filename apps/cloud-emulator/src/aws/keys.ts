import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { SandboxUnimplemented } from '../core/unimplemented';
import type { ActionContext, ActionDef } from './context';
import { stamp, visibleMap } from './context';
import { clientError, invalidParameterValue, missingParameter } from './errors';
import { compileFilters, readFilters } from './filters';
import { isWellFormedId, KeyPair, newId } from './state';
import { readTagSpecifications, renderTags } from './tags';

/**
 * EC2 key pairs (CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair; "Amazon EC2 key pairs and Amazon EC2
 * instances", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-key-pairs.html). Per account and region, names
 * unique (`InvalidKeyPair.Duplicate`). Imported keys must be OpenSSH public keys (`ssh-rsa` of 1024–4096 bits, or
 * `ssh-ed25519`); else `InvalidKey.Format`. Fingerprints as EC2 computes them: created RSA — SHA-1 of the DER PKCS#8
 * private key; imported RSA — MD5 of the DER public key; ED25519 — base64 SHA-256 of the OpenSSH key blob. CreateKeyPair
 * returns the private key once (`pem`: PKCS#1 for RSA, OpenSSH for ED25519) and the sandbox keeps only the public key.
 * RunInstances checks `KeyName` against these (`InvalidKeyPair.NotFound`).
 */

const sshString = (b: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const mpint = (b: Buffer): Buffer => sshString(b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const colonHex = (b: Buffer): string => b.toString('hex').match(/../g)?.join(':') ?? '';
const b64url = (b: Buffer): string => b.toString('base64url');

/** Reads the length-prefixed fields of an OpenSSH key blob. */
function sshFields(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < blob.length) {
    if (o + 4 > blob.length) throw new Error('truncated');
    const n = blob.readUInt32BE(o);
    if (o + 4 + n > blob.length) throw new Error('truncated');
    out.push(blob.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/** The OpenSSH blob (`ssh-rsa …` / `ssh-ed25519 …`) of a public key object. */
function sshBlob(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') return Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e as string, 'base64url')), mpint(Buffer.from(jwk.n as string, 'base64url'))]);
  return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x as string, 'base64url'))]);
}

const ed25519Fingerprint = (blob: Buffer): string => createHash('sha256').update(blob).digest('base64');

interface ParsedPublicKey {
  type: 'rsa' | 'ed25519';
  blob: Buffer;
  key: KeyObject;
}

const badFormat = () => clientError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');

/** An OpenSSH public key line (`ssh-rsa AAAA… comment`). @throws Ec2Error `InvalidKey.Format` */
export function parseOpenSshPublicKey(text: string): ParsedPublicKey {
  const m = /^(ssh-rsa|ssh-ed25519) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(text.trim());
  if (!m) throw badFormat();
  const blob = Buffer.from(m[2], 'base64');
  let fields: Buffer[];
  try {
    fields = sshFields(blob);
  } catch {
    throw badFormat();
  }
  if (fields[0]?.toString() !== m[1]) throw badFormat();
  try {
    if (m[1] === 'ssh-rsa') {
      if (fields.length !== 3) throw badFormat();
      const [, e, n] = fields;
      const key = createPublicKey({ key: { kty: 'RSA', e: b64url(e[0] === 0 ? e.subarray(1) : e), n: b64url(n[0] === 0 ? n.subarray(1) : n) }, format: 'jwk' });
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 1024 || bits > 4096) throw clientError('InvalidKey.Format', `Invalid RSA key length ${bits}: EC2 accepts 1024 to 4096 bits`);
      return { type: 'rsa', blob, key };
    }
    if (fields.length !== 2 || fields[1].length !== 32) throw badFormat();
    return { type: 'ed25519', blob, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(fields[1]) }, format: 'jwk' }) };
  } catch (e) {
    if (e instanceof Error && e.name === 'Ec2Error') throw e;
    throw badFormat();
  }
}

/** An unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`) for an ED25519 key pair. */
function openSshPrivateKey(priv: KeyObject, pubBlob: Buffer, comment: string): string {
  const jwk = priv.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const pub = Buffer.from(jwk.x as string, 'base64url');
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString(Buffer.from('ssh-ed25519')), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(Buffer.from(comment))]);
  for (let i = 1; section.length % 8 !== 0; i++) section = Buffer.concat([section, Buffer.from([i])]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString(Buffer.from('none')),
    sshString(Buffer.from('none')),
    sshString(Buffer.alloc(0)),
    Buffer.from([0, 0, 0, 1]),
    sshString(pubBlob),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----`;
}

function keyName(c: ActionContext): string {
  const name = c.p.reqStr('KeyName');
  if (name.length > 255 || !/^[\x20-\x7e]+$/.test(name)) throw invalidParameterValue(`Value (${name}) for parameter keyName is invalid. Key names are up to 255 ASCII characters.`);
  if (c.rs.keyPairs.has(name)) throw clientError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
  return name;
}

function store(c: ActionContext, k: Omit<KeyPair, 'id' | 'createdAtMs' | 'createTime' | 'tags'>): KeyPair {
  const tags = readTagSpecifications(c.p, ['key-pair']).get('key-pair') ?? new Map<string, string>();
  const kp: KeyPair = { ...k, id: newId('key'), createdAtMs: stamp(c), createTime: new Date().toISOString().replace(/\.\d{3}Z$/, '.000Z'), tags };
  c.rs.keyPairs.set(kp.name, kp);
  return kp;
}

/** The key pairs a DescribeKeyPairs / DeleteKeyPair names: `KeyName.N` and `KeyPairId.N`, each must exist. */
function named(c: ActionContext, pairs: Map<string, KeyPair>): KeyPair[] | undefined {
  const names = c.p.strList('KeyName');
  const ids = c.p.strList('KeyPairId');
  if (!names.length && !ids.length) return undefined;
  const out: KeyPair[] = [];
  for (const n of names) {
    const k = pairs.get(n);
    if (!k) throw clientError('InvalidKeyPair.NotFound', `The key pair '${n}' does not exist`);
    out.push(k);
  }
  for (const id of ids) {
    if (!isWellFormedId('key', id)) throw clientError('InvalidKeyPair.Malformed', `Invalid id: "${id}" (expecting "key-...")`);
    const k = [...pairs.values()].find((x) => x.id === id);
    if (!k) throw clientError('InvalidKeyPair.NotFound', `The key pair ID '${id}' does not exist`);
    out.push(k);
  }
  return [...new Set(out)];
}

export const KEY_ACTIONS: Record<string, ActionDef> = {
  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateKeyPair.html */
  CreateKeyPair: {
    op: 'firewall.create',
    params: ['DryRun', 'KeyName', 'KeyType', 'KeyFormat', 'TagSpecification'],
    run(c) {
      const name = keyName(c);
      const type = c.p.str('KeyType') ?? 'rsa';
      if (type !== 'rsa' && type !== 'ed25519') throw invalidParameterValue(`Value (${type}) for parameter KeyType is invalid. Valid values: rsa, ed25519`);
      const format = c.p.str('KeyFormat') ?? 'pem';
      if (format !== 'pem' && format !== 'ppk') throw invalidParameterValue(`Value (${format}) for parameter KeyFormat is invalid. Valid values: pem, ppk`);
      if (format === 'ppk') throw new SandboxUnimplemented('aws', 'CreateKeyPair KeyFormat=ppk');
      let material: string;
      let fingerprint: string;
      let blob: Buffer;
      if (type === 'rsa') {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        blob = sshBlob(publicKey);
        material = (privateKey.export({ type: 'pkcs1', format: 'pem' }) as string).trim();
        fingerprint = colonHex(createHash('sha1').update(privateKey.export({ type: 'pkcs8', format: 'der' })).digest());
      } else {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        blob = sshBlob(publicKey);
        material = openSshPrivateKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), blob, name);
        fingerprint = ed25519Fingerprint(blob);
      }
      const kp = store(c, { name, type, fingerprint, publicKey: `ssh-${type} ${blob.toString('base64')} ${name}` });
      return { keyName: kp.name, keyFingerprint: kp.fingerprint, keyMaterial: material, keyPairId: kp.id, tagSet: renderTags(kp.tags) };
    },
  },

  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ImportKeyPair.html (`PublicKeyMaterial` is base64 on the wire). */
  ImportKeyPair: {
    op: 'firewall.create',
    params: ['DryRun', 'KeyName', 'PublicKeyMaterial', 'TagSpecification'],
    run(c) {
      const raw = c.p.str('PublicKeyMaterial');
      if (raw === undefined || raw === '') throw missingParameter('PublicKeyMaterial');
      const name = keyName(c);
      const parsed = parseOpenSshPublicKey(Buffer.from(raw, 'base64').toString('utf8'));
      const fingerprint = parsed.type === 'rsa' ? colonHex(createHash('md5').update(parsed.key.export({ type: 'spki', format: 'der' })).digest()) : ed25519Fingerprint(parsed.blob);
      const kp = store(c, { name, type: parsed.type, fingerprint, publicKey: `ssh-${parsed.type} ${parsed.blob.toString('base64')} ${name}` });
      return { keyFingerprint: kp.fingerprint, keyName: kp.name, keyPairId: kp.id, tagSet: renderTags(kp.tags) };
    },
  },

  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeKeyPairs.html */
  DescribeKeyPairs: {
    op: 'read',
    params: ['DryRun', 'KeyName', 'KeyPairId', 'Filter', 'IncludePublicKey'],
    run(c) {
      const withPublic = c.p.bool('IncludePublicKey') ?? false;
      const visible = new Map([...visibleMap(c, new Map([...c.rs.keyPairs].map(([, k]) => [k.id, k]))).values()].map((k) => [k.name, k]));
      const list = named(c, visible) ?? [...visible.values()];
      const match = compileFilters<KeyPair>(readFilters(c.p), {
        'key-pair-id': (k) => [k.id],
        'key-name': (k) => [k.name],
        fingerprint: (k) => [k.fingerprint],
        'key-type': (k) => [k.type],
      }, (k) => k.tags);
      return {
        keySet: list.filter(match).map((k) => ({
          keyPairId: k.id,
          keyType: k.type,
          tagSet: renderTags(k.tags),
          publicKey: withPublic ? k.publicKey : undefined,
          createTime: k.createTime,
          keyName: k.name,
          keyFingerprint: k.fingerprint,
        })),
      };
    },
  },

  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteKeyPair.html: an unknown name is no error, as on EC2. */
  DeleteKeyPair: {
    op: 'network.delete',
    params: ['DryRun', 'KeyName', 'KeyPairId'],
    run(c) {
      const name = c.p.str('KeyName');
      const id = c.p.str('KeyPairId');
      if (!name && !id) throw missingParameter('KeyName or KeyPairId');
      if (id !== undefined && !isWellFormedId('key', id)) throw clientError('InvalidKeyPair.Malformed', `Invalid id: "${id}" (expecting "key-...")`);
      const k = name !== undefined ? c.rs.keyPairs.get(name) : [...c.rs.keyPairs.values()].find((x) => x.id === id);
      if (k) c.rs.keyPairs.delete(k.name);
      return { return: true, keyPairId: k?.id };
    },
  },
};
