import { parse } from 'yaml';
import { AGENT_BINARY, AGENT_CONFIG_PATH, AGENT_UNIT, renderUserData } from './user-data';

describe('renderUserData', () => {
  const cfg = { apiUrl: 'http://api', clusterId: 'c', nodeId: 'n', nodeName: 'sw-1-master-0', role: 'master' as const, bootstrapToken: 'swbt_secret' };
  it('is a cloud-config that writes the agent config (0600) and unit, then starts the unit', () => {
    const text = renderUserData(cfg);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(text) as { write_files: { path: string; permissions: string; content: string }[]; runcmd: string[][] };
    const conf = doc.write_files.find((f) => f.path === AGENT_CONFIG_PATH);
    expect(conf?.permissions).toBe('0600');
    expect(JSON.parse(conf?.content ?? '{}')).toEqual(cfg);
    const unit = doc.write_files.find((f) => f.path === `/etc/systemd/system/${AGENT_UNIT}`);
    expect(unit?.content).toContain(`ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}`);
    expect(doc.runcmd).toContainEqual(['systemctl', 'enable', '--now', AGENT_UNIT]);
  });
});
