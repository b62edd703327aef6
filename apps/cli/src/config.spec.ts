import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { configPath, normaliseApiUrl, readConfig, resolveTarget, writeConfig } from './config';
import { ExitCode } from './errors';

describe('the CLI configuration file', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'sw-cli-config-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('lives in $XDG_CONFIG_HOME/skyweave, else ~/.config/skyweave, unless SKYWEAVE_CONFIG names it', () => {
    expect(configPath({ HOME: '/home/u' })).toBe('/home/u/.config/skyweave/config.yaml');
    expect(configPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/skyweave/config.yaml');
    expect(configPath({ HOME: '/home/u', XDG_CONFIG_HOME: 'relative' })).toBe('/home/u/.config/skyweave/config.yaml');
    expect(configPath({ HOME: '/home/u', SKYWEAVE_CONFIG: '/tmp/c.yaml' })).toBe('/tmp/c.yaml');
  });

  it('is written 0600 in a 0700 folder, even under a permissive umask, and read back', () => {
    const file = configPath({ HOME: dir });
    const old = process.umask(0o000);
    try {
      writeConfig({ apiUrl: 'http://127.0.0.1:8080', apiKey: 'swk_abc' }, file);
    } finally {
      process.umask(old);
    }
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(readConfig(file)).toEqual({ apiUrl: 'http://127.0.0.1:8080', apiKey: 'swk_abc' });
    expect(readFileSync(file, 'utf8')).toBe('apiUrl: http://127.0.0.1:8080\napiKey: swk_abc\n');
  });

  it('makes a too-open folder of its own private again, and rewrites a too-open file 0600', () => {
    const sub = path.join(dir, 'skyweave');
    mkdirSync(sub, { mode: 0o755 });
    chmodSync(sub, 0o755);
    const file = path.join(sub, 'config.yaml');
    writeFileSync(file, 'apiUrl: http://x\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    readConfig(file, (m) => warnings.push(m));
    expect(warnings[0]).toMatch(/can be read by other users; it holds an API key: chmod 600/);
    writeConfig({ apiUrl: 'http://x', apiKey: 'swk_k' }, file);
    expect(mode(file)).toBe(0o600);
    expect(mode(sub)).toBe(0o700);
  });

  it('lets SKYWEAVE_API_URL and SKYWEAVE_API_KEY override the file; says "not logged in" (exit 3) without them', () => {
    const file = path.join(dir, 'c.yaml');
    writeConfig({ apiUrl: 'http://file:8080/', apiKey: 'swk_file' }, file);
    expect(resolveTarget({ SKYWEAVE_CONFIG: file })).toEqual({ apiUrl: 'http://file:8080', apiKey: 'swk_file' });
    expect(resolveTarget({ SKYWEAVE_CONFIG: file, SKYWEAVE_API_KEY: 'swk_env', SKYWEAVE_API_URL: 'https://env.example/v1' })).toEqual({ apiUrl: 'https://env.example', apiKey: 'swk_env' });
    expect(() => resolveTarget({ SKYWEAVE_CONFIG: path.join(dir, 'none.yaml') })).toThrow(expect.objectContaining({ exitCode: ExitCode.Auth }));
  });

  it('normalises API URLs and refuses what is not http(s)', () => {
    expect(normaliseApiUrl('https://sw.example.com/')).toBe('https://sw.example.com');
    expect(normaliseApiUrl('https://sw.example.com/api/v1/')).toBe('https://sw.example.com/api');
    expect(() => normaliseApiUrl('ftp://x')).toThrow(expect.objectContaining({ exitCode: ExitCode.Usage }));
    expect(() => normaliseApiUrl('nope')).toThrow(expect.objectContaining({ exitCode: ExitCode.Usage }));
  });
});
