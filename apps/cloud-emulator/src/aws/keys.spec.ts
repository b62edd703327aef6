import { generateKeyPairSync } from 'node:crypto';
import { parseOpenSshPublicKey } from './keys';

const str = (b: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};
const mpint = (b: Buffer) => str(b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);

/** `ssh-rsa AAAA… comment` of a fresh RSA key, as ssh-keygen writes it. */
function rsaLine(bits: number): { line: string; spkiDer: Buffer } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([str(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e as string, 'base64url')), mpint(Buffer.from(jwk.n as string, 'base64url'))]);
  return { line: `ssh-rsa ${blob.toString('base64')} me@host`, spkiDer: publicKey.export({ type: 'spki', format: 'der' }) };
}

describe('parseOpenSshPublicKey', () => {
  it('reads ssh-rsa and ssh-ed25519 lines into the same public key', () => {
    const { line, spkiDer } = rsaLine(2048);
    const rsa = parseOpenSshPublicKey(line);
    expect(rsa.type).toBe('rsa');
    expect(rsa.key.export({ type: 'spki', format: 'der' })).toEqual(spkiDer);

    const ed = generateKeyPairSync('ed25519').publicKey;
    const x = Buffer.from(ed.export({ format: 'jwk' }).x as string, 'base64url');
    const parsed = parseOpenSshPublicKey(`ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]).toString('base64')}`);
    expect(parsed.type).toBe('ed25519');
    expect(parsed.key.export({ type: 'spki', format: 'der' })).toEqual(ed.export({ type: 'spki', format: 'der' }));
  });

  it('refuses what is no OpenSSH public key with InvalidKey.Format', () => {
    const { line } = rsaLine(2048);
    for (const bad of ['', 'hello', '-----BEGIN PUBLIC KEY-----', 'ssh-dss AAAAB3NzaC1kc3M=', `ssh-ed25519 ${line.split(' ')[1]}`, 'ssh-rsa AAAA']) {
      expect(() => parseOpenSshPublicKey(bad)).toThrow(expect.objectContaining({ code: 'InvalidKey.Format' }));
    }
    expect(() => parseOpenSshPublicKey(rsaLine(512).line)).toThrow(expect.objectContaining({ code: 'InvalidKey.Format' }));
  });
});
