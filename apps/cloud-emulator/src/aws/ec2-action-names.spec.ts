import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EC2_ACTION_NAMES, EC2_SDK_VERSION } from './ec2-action-names';
import { SERVED_ACTIONS } from './index';

describe('EC2_ACTION_NAMES', () => {
  it('is every *Command of the installed @aws-sdk/client-ec2 (regenerate the list after an SDK upgrade)', () => {
    const pkgDir = path.dirname(require.resolve('@aws-sdk/client-ec2/package.json'));
    const sdk = readdirSync(path.join(pkgDir, 'dist-types/commands'))
      .filter((f) => f.endsWith('Command.d.ts'))
      .map((f) => f.slice(0, -'Command.d.ts'.length));
    const version = (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    const listed = [...EC2_ACTION_NAMES];
    expect({ version, added: sdk.filter((n) => !EC2_ACTION_NAMES.has(n)), gone: listed.filter((n) => !sdk.includes(n)) }).toEqual({ version: EC2_SDK_VERSION, added: [], gone: [] });
    expect(EC2_ACTION_NAMES.has('DescribeInstanceTypes')).toBe(true);
    expect(EC2_ACTION_NAMES.has('DescribeNothing')).toBe(false);
  });

  it('holds every action the sandbox serves (a served name that is no EC2 action would be a typo)', () => {
    expect(SERVED_ACTIONS.length).toBeGreaterThanOrEqual(45);
    expect(SERVED_ACTIONS.filter((a) => !EC2_ACTION_NAMES.has(a))).toEqual([]);
  });
});
