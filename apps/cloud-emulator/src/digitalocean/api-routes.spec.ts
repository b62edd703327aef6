import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DO_API_ROUTES } from './api-routes';
import { keyFingerprint } from './account';
import { ROUTES } from './index';

/** `GET /v2/droplets/:droplet_id` → `GET /v2/droplets/:` (parameter names do not matter for matching). */
const shape = (route: string): string => route.replace(/:[A-Za-z_]+/g, ':');

/** Every call dots-wrapper makes, read from its modules: `const url = \`/droplets/${droplet_id}\`` + `httpClient.<method>`. */
function dotsWrapperRoutes(): string[] {
  const dist = dirname(require.resolve('dots-wrapper'));
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'types' && name !== 'common') walk(p);
        continue;
      }
      if (!name.endsWith('.js') || name.startsWith('index') || name === 'modules.js') continue;
      const src = readFileSync(p, 'utf8');
      const method = /httpClient\.(get|post|put|patch|delete)\b/.exec(src)?.[1];
      if (!method) continue;
      const path = /const path = '([^']+)'/.exec(src)?.[1];
      const url = /const url = (`[^`]*`|'[^']*')/.exec(src)?.[1];
      if (!url) continue;
      let route = url.slice(1, -1).replace('${path}', path ?? '');
      route = route.replace(/\$\{image_id[^}]*\}/, ':image_id').replace(/\$\{[^}]+\}/g, ':x');
      out.add(`${method.toUpperCase()} /v2${route}`);
    }
  };
  walk(dist);
  return [...out].sort();
}

describe('DigitalOcean API v2 route set', () => {
  it('holds every call of dots-wrapper (the official-client stand-in), so none of them can be answered 404 by mistake', () => {
    const known = new Set(DO_API_ROUTES.map(shape));
    const fromPackage = dotsWrapperRoutes();
    expect(fromPackage.length).toBeGreaterThan(200);
    expect(fromPackage.filter((r) => !known.has(shape(r)))).toEqual([]);
  });

  it('every served call is a route of the real API (or an empty account-wide list of one)', () => {
    const known = new Set(DO_API_ROUTES.map(shape));
    const extra = Object.keys(ROUTES).filter((r) => !known.has(shape(r)));
    expect(extra).toEqual([]);
  });
});

describe('SSH key fingerprints', () => {
  it('are the MD5 of the decoded key blob, colon-separated, as ssh-keygen -E md5 (and DigitalOcean) write them', () => {
    // ssh-keygen -l -E md5 → MD5:01:98:5c:cb:ff:cf:e6:23:65:d6:be:81:a0:6b:c2:81
    expect(keyFingerprint('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKBDJ+j3EWfBy13ypxcft8iinlUmxapGSy+Pzu4VNBJg me@host')).toBe('01:98:5c:cb:ff:cf:e6:23:65:d6:be:81:a0:6b:c2:81');
  });

  it('refuse what is not a public key of a supported type', () => {
    expect(keyFingerprint('not a key')).toBeUndefined();
    expect(keyFingerprint('ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIKBDJ+j3EWfBy13ypxcft8iinlUmxapGSy+Pzu4VNBJg')).toBeUndefined();
    expect(keyFingerprint('ssh-foo AAAA')).toBeUndefined();
  });
});
