import { randomBytes } from 'node:crypto';
import { SecretBox, hashToken, newToken } from './crypto';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32).toString('base64'));
  it('round-trips and never contains the plaintext', () => {
    const sealed = box.seal('{"secretAccessKey":"wJalrXUtnFEMI"}');
    expect(sealed).not.toContain('wJalrXUtnFEMI');
    expect(box.open(sealed)).toBe('{"secretAccessKey":"wJalrXUtnFEMI"}');
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });
  it('refuses tampered ciphertext and a different master key', () => {
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => new SecretBox(randomBytes(32).toString('base64')).open(sealed)).toThrow();
  });
  it('insists on a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});

describe('tokens', () => {
  it('are prefixed, 256-bit, and hashed deterministically', () => {
    const t = newToken('swbt');
    expect(t).toMatch(/^swbt_[A-Za-z0-9_-]{43}$/);
    expect(hashToken(t)).toBe(hashToken(t));
    expect(hashToken(t)).not.toBe(hashToken(newToken('swbt')));
  });
});
