import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { sandboxAccount } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { type Stack, freePort, startStack } from '@skyweave/tools/stack/stack';
import { type RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';

const ROOT = path.resolve(__dirname, '../..');
/** Debian's Chromium (playwright-core drives it; `npx playwright install` cannot download browsers here). */
const CHROMIUM = process.env.SKYWEAVE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Screenshots of every page (gitignored). */
const SHOTS = path.join(ROOT, 'test-results/console');
/** Generous bounds for a loaded 2-core machine: one UI step, a cluster becoming Ready, a node joining. */
const STEP_MS = 30_000;
const READY_MS = 300_000;

/**
 * The web console (apps/console, issue 14 item 3) end to end, in a real browser (Debian's Chromium through
 * playwright-core) against a running installation with the sandbox cloud and an in-process OpenID Connect provider
 * (oidc-provider): an owner signs in with OIDC and joins with the invitation of the installation's owner key, adds
 * the four clouds' credentials (one refused by the cloud, one rotated), plans and creates a cluster in the wizard,
 * watches it become Ready through the live events stream, adds a worker, downloads the kubeconfig (read by kubectl),
 * invites a viewer, makes and revokes an API key, and deletes the cluster with its typed name; the viewer then signs in
 * and is refused a change by the API, whose problem the page shows. Every page is screenshotted to
 * test-results/console/<page>.png and checked with axe (no serious or critical violation).
 */
describe('the web console in a browser', () => {
  let stack: Stack;
  let op: RunningOidcProvider;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let downloads: string;
  let clusterId: string;
  let viewerToken: string;
  /** Axe's findings of every page, for the log (serious and critical ones fail the page's step). */
  const axeFindings: Record<string, string[]> = {};

  /** Saves the page's screenshot and checks it with axe: @throws naming the serious or critical violations. */
  const check = async (name: string, o: { fullPage?: boolean } = {}): Promise<void> => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: o.fullPage ?? true });
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    axeFindings[name] = result.violations.map((v) => `${v.impact ?? 'unknown'} ${v.id} (${v.nodes.length})`);
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (bad.length) throw new Error(`axe on ${name}: ${bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`).join('\n')}`);
  };
  const heading = (name: string) => page.getByRole('heading', { level: 1, name });
  const nav = async (label: string, title = label) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
    await heading(title).waitFor({ timeout: STEP_MS });
  };
  /** Signs in with OIDC as `email` and joins with the invitation `token`, ending on the clusters page. */
  const signInAndJoin = async (sub: string, email: string, token: string) => {
    await page.goto(`${stack.apiUrl}/`);
    await page.getByRole('link', { name: 'Sign in with OIDC' }).waitFor({ timeout: STEP_MS });
    expect(new URL(page.url()).pathname).toBe('/console/');
    op.signInAs({ sub, email });
    await page.getByRole('link', { name: 'Sign in with OIDC' }).click();
    await heading('Join an organisation').waitFor({ timeout: STEP_MS });
    await page.getByLabel('Invitation token').fill(token);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await heading('Clusters').waitFor({ timeout: STEP_MS });
  };
  /** An invitation made with the installation's owner API key (`npm run bootstrap-org`'s), as docs/identity.md says. */
  const invite = async (email: string, role: string): Promise<string> => {
    const r = await fetch(`${stack.apiUrl}/v1/invitations`, {
      method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ email, role }),
    });
    expect(r.status).toBe(201);
    return ((await r.json()) as { token: string }).token;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`apt-get install chromium\` (bash tools/validators.sh installs it as root), or set SKYWEAVE_CHROMIUM`);
    }
    await ensureLocalServices(() => undefined);
    mkdirSync(SHOTS, { recursive: true });
    // the provider must know the redirect URI, so the gateway's port is chosen first
    const apiPort = await freePort();
    const redirectUri = `http://127.0.0.1:${apiPort}/v1/auth/oidc/callback`;
    op = await startOidcProvider({ clientId: 'skyweave-console', clientSecret: 'console-e2e-secret', redirectUri });
    stack = await startStack({
      bootMs: 300, apiPort,
      env: {
        SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_REDRIVE_SECONDS: '1',
        // plain http on 127.0.0.1: browsers drop Secure cookies there (docs/identity.md)
        SKYWEAVE_COOKIE_SECURE: 'false',
        SKYWEAVE_OIDC_ISSUER: op.issuer, SKYWEAVE_OIDC_CLIENT_ID: 'skyweave-console', SKYWEAVE_OIDC_CLIENT_SECRET: 'console-e2e-secret',
        SKYWEAVE_OIDC_REDIRECT_URI: redirectUri, SKYWEAVE_OIDC_AFTER_LOGIN: '/console/', SKYWEAVE_OIDC_ALLOW_HTTP: 'true',
      },
    });
    profile = mkdtempSync(path.join(tmpdir(), 'sw-console-chromium-'));
    downloads = mkdtempSync(path.join(tmpdir(), 'sw-console-downloads-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true, downloadsPath: downloads,
      viewport: { width: 1280, height: 900 }, timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_MS);
    // window.confirm (revoking a key): accepted, as a user would
    page.on('dialog', (d) => void d.accept());
  }, 240_000);

  afterAll(async () => {
    process.stderr.write(`axe findings per page (any impact): ${JSON.stringify(axeFindings, null, 1)}\n`);
    await context?.close();
    await op?.close();
    await stack?.stop();
    for (const d of [profile, downloads]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('serves the console at /console/ with the gateway\'s security headers and an SPA fallback', async () => {
    const res = await fetch(`${stack.apiUrl}/console/clusters/00000000-0000-4000-8000-000000000000`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${stack.apiUrl}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    const missing = await fetch(`${stack.apiUrl}/console/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
    // nothing outside the build is reachable (an encoded ../ is decoded, then refused)
    expect((await fetch(`${stack.apiUrl}/console/..%2F..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${stack.apiUrl}/console/..%2f..%2fapi-gateway%2fmain.js`)).status).toBe(404);
    expect(await (await fetch(`${stack.apiUrl}/v1/auth/methods`)).json()).toEqual({ localAccounts: false, oidc: true, firstUserSignup: false });
  });

  it('signs an owner in with OIDC, who joins by invitation and sees the empty clusters page', async () => {
    const token = await invite('owner@example.com', 'owner');
    await page.goto(`${stack.apiUrl}/`);
    await page.getByRole('link', { name: 'Sign in with OIDC' }).waitFor();
    await check('sign-in');
    op.signInAs({ sub: 'owner-1', email: 'owner@example.com' });
    await page.getByRole('link', { name: 'Sign in with OIDC' }).click();
    await heading('Join an organisation').waitFor();
    await check('join');
    await page.getByLabel('Invitation token').fill(token);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await heading('Clusters').waitFor();
    await page.getByText('No clusters yet.').waitFor();
    await expect(page.getByRole('banner').textContent()).resolves.toContain('owner@example.com · demo (owner)');
    await check('clusters-empty');
  });

  it('adds the four clouds\' credentials (checked by the API; a refused one shows its error; rotation with PUT)', async () => {
    await nav('Cloud credentials');
    const form = (name: string) => page.getByRole('form', { name: `${name} credentials` });
    // a token the sandbox does not know: the cloud refuses it, and the page shows the API's problem
    const doForm = form('DigitalOcean');
    await doForm.getByLabel('Personal access token').fill('f'.repeat(64));
    await doForm.getByRole('button', { name: 'Check and save' }).click();
    await doForm.getByRole('alert').getByText('The cloud refused the credentials').waitFor();

    const aws = await sandboxAccount(stack.adminUrl, 'aws');
    await form('AWS').getByLabel('Access key ID').fill(String(aws.accessKeyId));
    await form('AWS').getByLabel('Secret access key').fill(String(aws.secretAccessKey));
    await form('AWS').getByRole('button', { name: 'Check and save' }).click();
    await form('AWS').getByText('Saved: the cloud accepted the credentials.').waitFor();

    const gcp = await sandboxAccount(stack.adminUrl, 'gcp');
    await form('Google Cloud').getByLabel('Service account key file (JSON)').fill(JSON.stringify(gcp, null, 2));
    await form('Google Cloud').getByRole('button', { name: 'Check and save' }).click();
    await form('Google Cloud').getByText('Saved: the cloud accepted the credentials.').waitFor();

    const azure = await sandboxAccount(stack.adminUrl, 'azure');
    for (const [label, key] of [['Tenant ID', 'tenantId'], ['Client (application) ID', 'clientId'], ['Client secret', 'clientSecret'], ['Subscription ID', 'subscriptionId']]) {
      await form('Azure').getByLabel(label).fill(String(azure[key]));
    }
    await form('Azure').getByRole('button', { name: 'Check and save' }).click();
    await form('Azure').getByText('Saved: the cloud accepted the credentials.').waitFor();

    const digitalocean = await sandboxAccount(stack.adminUrl, 'digitalocean');
    await doForm.getByLabel('Personal access token').fill(String(digitalocean.token));
    await doForm.getByRole('button', { name: 'Check and save' }).click();
    await doForm.getByText('Saved: the cloud accepted the credentials.').waitFor();
    // stored: the secret is not shown again, the form now rotates (PUT)
    expect(await doForm.getByLabel('Personal access token').inputValue()).toBe('');
    await doForm.getByLabel('Personal access token').fill(String(digitalocean.token));
    await doForm.getByRole('button', { name: 'Rotate credentials' }).click();
    await doForm.getByText('Replaced: the new credentials were accepted by the cloud.').waitFor();
    const text = await page.locator('main').textContent();
    for (const secret of [aws.secretAccessKey, gcp.private_key, azure.clientSecret, digitalocean.token]) expect(text).not.toContain(String(secret));
    await check('credentials');
  });

  it('plans a cluster in the wizard (plan, hourly and monthly cost, latency warning) and creates it', async () => {
    await nav('New cluster');
    await page.getByLabel('Cluster name').fill('web');
    await page.getByLabel('Region', { exact: true }).selectOption('us-east');
    await page.getByRole('button', { name: 'Next' }).click();
    for (const c of ['AWS', 'Google Cloud', 'DigitalOcean']) await page.getByRole('checkbox', { name: c }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Control plane cloud').selectOption('aws');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Google Cloud workers').fill('1');
    // the plan of the final draft: 1 master on AWS and 1 worker on GCP, priced by the sandbox's price APIs
    const plan = page.getByRole('complementary', { name: 'Plan and cost' });
    await plan.getByRole('cell', { name: /1× worker/ }).waitFor();
    const cost = await plan.getByTestId('plan-cost').textContent();
    expect(cost).toMatch(/^\$\d+\.\d{4} \/ hour · \$\d+\.\d{2} \/ month$/);
    expect(cost).not.toContain('unknown');
    await plan.getByRole('list', { name: 'Warnings' }).getByText(/AWS and DigitalOcean are 7 ms apart/).waitFor();
    await check('new-cluster');
    // the same page at 375 px: one column, nothing wider than the screen
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await check('new-cluster-375');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.waitForURL(/\/console\/clusters\/[0-9a-f-]{36}$/);
    clusterId = /clusters\/([0-9a-f-]{36})$/.exec(page.url())![1];
  });

  it('watches the cluster become Ready through the live events stream (no polling)', async () => {
    // every GET of the cluster the page makes, to show it re-reads on events rather than on a timer
    let reads = 0;
    const counter = (r: { url(): string; method(): string }) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === `/v1/clusters/${clusterId}`) reads++;
    };
    page.on('request', counter);
    await page.getByRole('status').getByText('Live events').waitFor();
    const started = Date.now();
    await page.locator('.cluster-head .phase', { hasText: /^Ready$/ }).waitFor({ timeout: READY_MS });
    const seconds = (Date.now() - started) / 1000;
    page.off('request', counter);
    const events = await page.locator('ol.events > li').count();
    expect(events).toBeGreaterThan(5);
    await page.locator('ol.events').getByText(/ClusterReady|Ready/).first().waitFor();
    // re-read on events (coalesced: at most about one per event, plus the page's first read), not on a timer
    expect(reads).toBeLessThanOrEqual(events + 5);
    process.stderr.write(`cluster Ready in ${seconds.toFixed(1)} s: ${events} events, ${reads} reads of the cluster\n`);
    // and the proof that nothing polls: 6 s on the open page read the cluster no more often than events arrived
    let quietReads = 0;
    const quiet = (r: { url(): string; method(): string }) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === `/v1/clusters/${clusterId}`) quietReads++;
    };
    page.on('request', quiet);
    await page.waitForTimeout(6000);
    page.off('request', quiet);
    const arrived = (await page.locator('ol.events > li').count()) - events;
    expect(quietReads).toBeLessThanOrEqual(arrived);
    const nodes = page.getByTestId('nodes').locator('tbody tr');
    expect(await nodes.count()).toBe(2);
    await page.getByRole('heading', { name: 'Networks' }).waitFor();
    await check('cluster');
    await page.screenshot({ path: path.join(SHOTS, 'cluster-viewport.png') });
  }, READY_MS + 60_000);

  it('adds a worker, which joins; downloads the kubeconfig (kubectl reads it); reconciles now', async () => {
    const addForm = page.getByRole('form', { name: 'Add workers' });
    await addForm.getByLabel('Cloud').selectOption('gcp');
    await addForm.getByLabel('Workers to add').fill('1');
    await addForm.getByRole('button', { name: 'Add workers' }).click();
    await page.getByText('Adding 1 Google Cloud worker(s)').waitFor();
    const rows = page.getByTestId('nodes').locator('tbody tr');
    // a function, not a string (the console's CSP has no 'unsafe-eval'); this file is typed without the DOM library
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> } }).document;
      const r = Array.from(doc.querySelectorAll('[data-testid="nodes"] tbody tr'));
      return r.length === 3 && r.every((tr) => (tr.textContent ?? '').includes('Joined'));
    }, undefined, { timeout: READY_MS });
    expect(await rows.count()).toBe(3);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download kubeconfig' }).click()]);
    expect(download.suggestedFilename()).toBe('web.kubeconfig.yaml');
    const file = path.join(downloads, 'web.kubeconfig.yaml');
    await download.saveAs(file);
    const kc = parseYaml(readFileSync(file, 'utf8')) as { kind: string; clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: Record<string, string> }[]; 'current-context': string };
    expect(kc.kind).toBe('Config');
    expect(kc.clusters[0].cluster.server).toMatch(/^https:\/\//);
    expect(kc.clusters[0].cluster['certificate-authority-data']).toBeTruthy();
    expect(kc.users[0].user['client-key-data']).toBeTruthy();
    const view = JSON.parse(execFileSync('kubectl', ['config', 'view', '--kubeconfig', file, '-o', 'json'], { encoding: 'utf8' })) as { 'current-context': string; contexts: { name: string }[] };
    expect(view.contexts.map((c) => c.name)).toContain(view['current-context']);

    // a full reconcile refuses changes while it runs (409 cluster-reconciling): its end arrives as an event
    const finished = page.locator('ol.events strong', { hasText: /^(Reconciled|ReconcileFailed)$/ });
    const before = await finished.count();
    await page.getByRole('button', { name: 'Reconcile now' }).click();
    await page.getByText(/Reconcile scheduled|A reconcile is running already/).waitFor();
    await finished.nth(before).waitFor({ timeout: READY_MS });
    expect(await page.locator('ol.events strong', { hasText: /^Reconciled$/ }).count()).toBeGreaterThan(0);
  }, READY_MS + 60_000);

  it('invites a viewer (token shown once), makes an API key (shown once) and revokes it', async () => {
    await nav('Members');
    await page.getByRole('cell', { name: 'owner@example.com (you)' }).waitFor();
    const inviteForm = page.getByRole('region', { name: 'Invite someone' });
    await inviteForm.getByLabel('Email').fill('viewer@example.com');
    await inviteForm.getByLabel('Role').selectOption('viewer');
    await inviteForm.getByRole('button', { name: 'Invite' }).click();
    viewerToken = (await inviteForm.getByTestId('secret').textContent())!.trim();
    expect(viewerToken).toMatch(/^swi_/);
    await page.getByRole('cell', { name: 'viewer@example.com' }).waitFor();
    await check('members');

    await nav('API keys');
    // the installation's owner key (bootstrap-org) is listed, never its secret
    await page.getByRole('columnheader', { name: 'Role' }).waitFor();
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create key' }).click();
    expect((await page.getByTestId('secret').textContent())!.trim()).toMatch(/^swk_/);
    await page.getByRole('cell', { name: 'ci', exact: true }).waitFor();
    await check('api-keys');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByTestId('secret').count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke ci' }).click();
    await page.getByRole('cell', { name: 'ci', exact: true }).waitFor({ state: 'detached' });
  });

  it('deletes the cluster only once its name is typed', async () => {
    await nav('Clusters');
    await page.getByRole('link', { name: 'web' }).click();
    await page.locator('.cluster-head .phase').waitFor();
    const del = page.getByRole('button', { name: 'Delete web' });
    await page.getByLabel(/Type the cluster's name/).fill('wed');
    expect(await del.isDisabled()).toBe(true);
    await page.getByLabel(/Type the cluster's name/).fill('web');
    await del.click();
    await page.getByText('Deleting web: every VM and network is removed').waitFor();
    await page.locator('.cluster-head .phase', { hasText: /^(Deleting|Deleted)$/ }).waitFor({ timeout: READY_MS });
    await check('cluster-deleting');
    // gone from the list once the sandbox's VMs and networks are removed
    await page.waitForFunction(async (id) => {
      const r = await fetch('/v1/clusters');
      return r.ok && !((await r.json()) as { items: { id: string }[] }).items.some((c) => c.id === id);
    }, clusterId, { timeout: READY_MS, polling: 2000 });
  }, READY_MS + 60_000);

  it('signs a viewer in, whom the API refuses a change; the page shows the API\'s problem', async () => {
    await context.clearCookies();
    await signInAndJoin('viewer-1', 'viewer@example.com', viewerToken);
    await expect(page.getByRole('banner').textContent()).resolves.toContain('viewer@example.com · demo (viewer)');
    await nav('Cloud credentials');
    const doForm = page.getByRole('form', { name: 'DigitalOcean credentials' });
    await doForm.getByLabel('Personal access token').fill('a'.repeat(64));
    await doForm.getByRole('button', { name: 'Rotate credentials' }).click();
    const alert = doForm.getByRole('alert');
    await alert.getByText('Forbidden').waitFor();
    await alert.getByText('this needs the member role; you are a viewer').waitFor();
    await check('viewer-refused');
  });
});
