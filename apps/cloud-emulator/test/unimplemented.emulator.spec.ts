import { startEmulator } from '../src/emulator';
import { UNIMPLEMENTED_CONTENT_TYPE } from '../src/core/unimplemented';

/**
 * Issue 15, item 1: a call the sandbox does not implement is never mistaken for a missing resource — 501 in the
 * sandbox's own shape, counted at /admin/calls, and a test that caused one fails (the emulator's close rejects)
 * unless it said it expects it.
 */
describe('calls the sandbox does not implement', () => {
  const ports = { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 };

  async function askUnserved(emu: Awaited<ReturnType<typeof startEmulator>>) {
    const creds = emu.modules.digitalocean.createAccount();
    if (creds.cloud !== 'digitalocean') throw new Error('wrong cloud');
    // a real DigitalOcean route (Droplet autoscale pools) the sandbox does not serve
    return fetch(`${emu.endpoints.digitalocean}/droplets/autoscale`, { headers: { authorization: `Bearer ${creds.digitalocean.token}` } });
  }

  it('answers 501 with a body naming the sandbox and the operation, counts it, and close() rejects naming it', async () => {
    const emu = await startEmulator({ ports });
    const r = await askUnserved(emu);
    expect(r.status).toBe(501);
    expect(r.headers.get('content-type')).toBe(UNIMPLEMENTED_CONTENT_TYPE);
    expect(await r.json()).toMatchObject({ sandbox: 'skyweave-cloud-emulator', error: 'NotImplementedBySandbox', cloud: 'digitalocean', operation: 'GET /v2/droplets/autoscale' });
    const calls = (await (await fetch(`${emu.adminUrl}/admin/calls`)).json()) as { unimplemented: unknown[] };
    expect(calls.unimplemented).toEqual([{ cloud: 'digitalocean', call: 'GET /v2/droplets/autoscale', count: 1 }]);
    await expect(emu.close()).rejects.toThrow('the sandbox was asked for calls it does not implement (answered 501): digitalocean GET /v2/droplets/autoscale ×1');
  });

  it('close() resolves when the test said it expects that call, and when none was made', async () => {
    const expecting = await startEmulator({ ports, allowUnimplemented: ['digitalocean GET /v2/droplets/autoscale'] });
    expect((await askUnserved(expecting)).status).toBe(501);
    await expect(expecting.close()).resolves.toBeUndefined();
    const quiet = await startEmulator({ ports });
    await expect(quiet.close()).resolves.toBeUndefined();
  });
});
