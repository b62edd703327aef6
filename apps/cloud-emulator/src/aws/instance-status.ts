import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { VmHost } from '../core/types';
import type { ActionDef } from './context';
import { KINDS, lookup, lookupAll, visibleMap } from './context';
import { compileFilters, readFilters } from './filters';
import { paginate } from './paging';
import { Instance, STATE_CODES } from './state';
import type { XmlValue } from './xml';

/**
 * Instance status and console (EC2 API):
 * - DescribeInstanceStatus (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceStatus.html):
 *   running instances by default, every state with `IncludeAllInstances=true`; a running instance's system, instance
 *   and attached-EBS checks are `ok` (reachability `passed`) — the sandbox has no `initializing` phase —, any other
 *   state's are `not-applicable`. This is what the SDK's `waitUntilInstanceStatusOk` / `waitUntilSystemStatusOk` poll.
 * - GetConsoleOutput (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html): the instance's
 *   console so far, base64 (as EC2 returns it; the SDK hands it over still encoded), with the time of its last line;
 *   at most the last 64 KiB, as EC2 keeps. The sandbox writes it as the instance goes (launch, boot, shutdown) and
 *   adds, as `cloud-init[1]:` lines, what the VM runtime logged while applying the user data
 *   (`<vm fs>/var/log/cloud-init-output.log`: write_files, runcmd, units started, network): an honest cloud-init-like
 *   log of what the sandbox did, not a kernel's boot log. A pending instance has no output yet.
 */

/** EC2 keeps the most recent 64 KiB of console output. */
const CONSOLE_MAX = 64 * 1024;

/**
 * The VM runtime's cloud-init log of the instance, if it has one. The runtime (core/vm-runtime.ts) has `fsRoot(id)`;
 * `VmHost` does not promise it, so a host without it (a test double) simply gives none.
 */
function vmBootLog(vms: VmHost, instanceId: string): string[] {
  const root = (vms as VmHost & { fsRoot?: (id: string) => string }).fsRoot?.(instanceId);
  if (!root) return [];
  try {
    return readFileSync(path.join(root, 'var/log/cloud-init-output.log'), 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** The console text: the instance's own lines with the VM runtime's cloud-init lines before cloud-init's `finished`. */
function consoleText(i: Instance, vmLines: string[]): string {
  const lines = [...i.console];
  const finished = lines.findIndex((l) => l.includes('Cloud-init v. sandbox finished'));
  if (finished >= 0 && vmLines.length) {
    const stamp = lines[finished].slice(0, lines[finished].indexOf(']') + 1);
    lines.splice(finished, 0, ...vmLines.map((l) => `${stamp} cloud-init[1]: ${l}`));
  }
  const text = lines.length ? `${lines.join('\r\n')}\r\n` : '';
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length > CONSOLE_MAX ? bytes.subarray(bytes.length - CONSOLE_MAX).toString('utf8') : text;
}

/** Appends a console line with a `[   12.345678]`-style offset from launch, as a Linux console prints them. */
export function consoleLine(i: Instance, text: string, now = Date.now()): void {
  const secs = Math.max(0, (now - Date.parse(i.launchTime)) / 1000);
  i.console.push(`[${secs.toFixed(6).padStart(12)}] ${text}`);
  i.consoleUpdatedAt = new Date(now).toISOString().replace(/\.\d{3}Z$/, '.000Z');
}

function checks(i: Instance) {
  const ok = i.state === 'running';
  const status = (name: string) => (ok ? { status: 'ok', details: [{ name, status: 'passed' }] } : { status: 'not-applicable' });
  return { system: status('reachability'), instance: status('reachability'), ebs: status('reachability') };
}

function render(i: Instance): XmlValue {
  const s = checks(i);
  return {
    instanceId: i.id,
    availabilityZone: i.zone,
    availabilityZoneId: i.zoneId,
    operator: { managed: false },
    eventsSet: undefined,
    instanceState: { code: STATE_CODES[i.state], name: i.state },
    systemStatus: s.system,
    instanceStatus: s.instance,
    attachedEbsStatus: s.ebs,
  };
}

export const INSTANCE_STATUS_ACTIONS: Record<string, ActionDef> = {
  DescribeInstanceStatus: {
    op: 'read',
    params: ['DryRun', 'InstanceId', 'Filter', 'MaxResults', 'NextToken', 'IncludeAllInstances'],
    run(c) {
      const all = c.p.bool('IncludeAllInstances') ?? false;
      const visible = visibleMap(c, c.rs.instances);
      const ids = c.p.strList('InstanceId');
      const list = ids.length ? lookupAll(visible, ids, KINDS.instance) : [...visible.values()];
      const match = compileFilters<Instance>(readFilters(c.p), {
        'availability-zone': (i) => [i.zone],
        'instance-state-code': (i) => [STATE_CODES[i.state]],
        'instance-state-name': (i) => [i.state],
        'instance-status.status': (i) => [checks(i).instance.status],
        'instance-status.reachability': (i) => [i.state === 'running' ? 'passed' : undefined],
        'system-status.status': (i) => [checks(i).system.status],
        'system-status.reachability': (i) => [i.state === 'running' ? 'passed' : undefined],
        'attached-ebs-status.status': (i) => [checks(i).ebs.status],
        'attached-ebs-status.reachability': (i) => [i.state === 'running' ? 'passed' : undefined],
        'event.code': () => [],
        'event.description': () => [],
        'event.instance-event-id': () => [],
        'event.not-after': () => [],
        'event.not-before': () => [],
        'event.not-before-deadline': () => [],
      });
      const shown = list.filter((i) => (all || i.state === 'running') && match(i));
      const page = paginate(shown, c.p, c.action, { min: 5, max: 1000, idsParam: 'InstanceId' });
      return { instanceStatusSet: page.items.map(render), nextToken: page.nextToken };
    },
  },

  GetConsoleOutput: {
    op: 'read',
    params: ['DryRun', 'InstanceId', 'Latest'],
    run(c) {
      c.p.bool('Latest');
      const i = lookup(visibleMap(c, c.rs.instances), c.p.reqStr('InstanceId'), KINDS.instance);
      const text = i.console.length ? consoleText(i, vmBootLog(c.shared.ctx.vms, i.id)) : '';
      return {
        instanceId: i.id,
        timestamp: i.consoleUpdatedAt ?? new Date().toISOString().replace(/\.\d{3}Z$/, '.000Z'),
        output: text ? Buffer.from(text, 'utf8').toString('base64') : undefined,
      };
    },
  },
};
