import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of secrets at rest: each secret gets a fresh data key (AES-256-GCM), which is itself
 * encrypted with the master key from configuration (`SKYWEAVE_MASTER_KEY`, 32 bytes base64).
 * Output: `v1.<wrapped key b64>.<iv b64>.<ciphertext b64>.<tag b64>` where the wrapped key is `iv|ct|tag`.
 */
export class SecretBox {
  private readonly masterKey: Buffer;
  constructor(masterKeyBase64: string) {
    this.masterKey = Buffer.from(masterKeyBase64, 'base64');
    if (this.masterKey.length !== 32) throw new Error('SKYWEAVE_MASTER_KEY must be 32 bytes, base64-encoded');
  }

  seal(plaintext: string): string {
    const dataKey = randomBytes(32);
    const wrapped = gcm(this.masterKey, dataKey);
    const body = gcm(dataKey, Buffer.from(plaintext, 'utf8'));
    return ['v1', Buffer.concat([wrapped.iv, wrapped.ct, wrapped.tag]).toString('base64'), body.iv.toString('base64'), body.ct.toString('base64'), body.tag.toString('base64')].join('.');
  }

  open(sealed: string): string {
    const [v, wrappedB64, ivB64, ctB64, tagB64] = sealed.split('.');
    if (v !== 'v1') throw new Error('unknown secret envelope version');
    const wrapped = Buffer.from(wrappedB64, 'base64');
    const dataKey = ungcm(this.masterKey, wrapped.subarray(0, 12), wrapped.subarray(12, wrapped.length - 16), wrapped.subarray(wrapped.length - 16));
    return ungcm(dataKey, Buffer.from(ivB64, 'base64'), Buffer.from(ctB64, 'base64'), Buffer.from(tagB64, 'base64')).toString('utf8');
  }
}

function gcm(key: Buffer, plaintext: Buffer): { iv: Buffer; ct: Buffer; tag: Buffer } {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return { iv, ct, tag: c.getAuthTag() };
}

function ungcm(key: Buffer, iv: Buffer, ct: Buffer, tag: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]);
}

/** SHA-256 hex of a high-entropy token (API keys, bootstrap tokens, node credentials). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A random token: `<prefix>_<43 chars base64url>` (256 bits). */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
