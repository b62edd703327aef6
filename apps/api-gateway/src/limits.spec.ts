import { DEFAULT_LIMITS, gatewayLimitsFromEnv } from './limits';
import { LongPolls } from './long-polls';
import { Problem } from './problem';

describe('gatewayLimitsFromEnv', () => {
  it('takes the defaults when nothing is set, and scales the window to milliseconds', () => {
    expect(gatewayLimitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    const l = gatewayLimitsFromEnv({ SKYWEAVE_RATE_LIMIT_KEY: '10', SKYWEAVE_RATE_LIMIT_WINDOW_SECONDS: '5', SKYWEAVE_CONSOLE_ORIGIN: 'https://console.example.com/' });
    expect([l.perApiKey, l.rateWindowMs, l.consoleOrigin]).toEqual([10, 5000, 'https://console.example.com']);
  });

  it.each([
    [{ SKYWEAVE_RATE_LIMIT_NODE: '-1' }, /SKYWEAVE_RATE_LIMIT_NODE must be a non-negative integer/],
    [{ SKYWEAVE_MAX_CONNECTIONS: '1.5' }, /SKYWEAVE_MAX_CONNECTIONS/],
    [{ SKYWEAVE_RATE_LIMIT_WINDOW_SECONDS: '0' }, /at least 1/],
    [{ SKYWEAVE_HEADERS_TIMEOUT_MS: '40000' }, /must not exceed SKYWEAVE_REQUEST_TIMEOUT_MS/],
    [{ SKYWEAVE_CONSOLE_ORIGIN: 'console.example.com' }, /SKYWEAVE_CONSOLE_ORIGIN must be an origin/],
    [{ SKYWEAVE_CONSOLE_ORIGIN: 'https://console.example.com/app' }, /no path/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => gatewayLimitsFromEnv(env)).toThrow(message);
  });
});

describe('LongPolls', () => {
  it('ends a node\'s earlier poll on the same endpoint only, and refuses beyond the bound unless replacing', async () => {
    const polls = new LongPolls(2);
    const a = polls.begin('mesh', 'n1');
    const b = polls.begin('operations', 'n1');
    expect([a.ended, b.ended, polls.held]).toEqual([false, false, 2]);
    expect(() => polls.begin('mesh', 'n2')).toThrow(Problem);
    const a2 = polls.begin('mesh', 'n1');
    await a.superseded;
    expect([a.ended, a2.ended, polls.held]).toEqual([true, false, 2]);
    a.release(); // a superseded hold's release leaves its successor
    expect(polls.held).toBe(2);
    a2.release();
    b.release();
    expect(polls.held).toBe(0);
  });
});
