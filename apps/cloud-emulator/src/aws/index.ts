import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudContext, CloudModule, FaultKind, InventoryItem, Operation } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { SandboxUnimplemented } from '../core/unimplemented';
import { verifySigV4 } from './auth';
import { findRegion, ImageInfo, regionImages } from './catalog';
import { ActionContext, ActionDef, Ec2Shared } from './context';
import { EC2_ACTION_NAMES } from './ec2-action-names';
import { createDefaultVpc, DEFAULT_VPC_ACTIONS } from './default-vpc';
import { Ec2Error } from './errors';
import { ACCOUNT_ACTIONS } from './account';
import { CATALOG_ACTIONS } from './catalog-actions';
import { INSTANCE_STATUS_ACTIONS } from './instance-status';
import { INSTANCE_ACTIONS } from './instances';
import { KEY_ACTIONS } from './keys';
import { NETWORK_INTERFACE_ACTIONS } from './network-interfaces';
import { VOLUME_ACTIONS } from './volumes';
import { META_ACTIONS } from './meta';
import { NETWORK_ACTIONS } from './network';
import { Params } from './params';
import { createAwsPricing, PRICING_REGIONS, PricingError } from './pricing';
import { SECURITY_GROUP_ACTIONS } from './security-groups';
import { Account, newRequestId, RegionState } from './state';
import { tagsToRecord } from './tags';
import { errorDocument, responseDocument } from './xml';

/**
 * The sandbox's Amazon EC2: the EC2 Query API (API version 2016-11-15) over HTTP, as `@aws-sdk/client-ec2` speaks
 * it — `POST /` with form-encoded `Action=…&Version=…` (GET with a query string works too), SigV4-signed with the
 * account's keys, XML answers in the `http://ec2.amazonaws.com/doc/2016-11-15/` namespace, errors as
 * `<Response><Errors><Error>…` with EC2's codes and HTTP statuses. The region is the one in the signature's credential
 * scope; state is per account and region.
 *
 * Served actions (one table per family, merged into `ACTIONS`):
 * - catalogue and account (meta.ts, catalog-actions.ts, account.ts): DescribeRegions (the 17 default-enabled regions;
 *   opt-in ones with AllRegions), DescribeAvailabilityZones, DescribeImages, DescribeTags, DescribeInstanceTypes,
 *   DescribeAddresses, DescribeAccountAttributes;
 * - VPC networking (network.ts): CreateVpc, DescribeVpcs, DeleteVpc; CreateSubnet, DescribeSubnets,
 *   ModifySubnetAttribute (MapPublicIpOnLaunch), DeleteSubnet; CreateInternetGateway, AttachInternetGateway,
 *   DetachInternetGateway, DeleteInternetGateway, DescribeInternetGateways; CreateRouteTable, CreateRoute,
 *   ReplaceRoute, AssociateRouteTable, DisassociateRouteTable, DeleteRouteTable, DescribeRouteTables — and every
 *   region's default VPC (default-vpc.ts: made with the account; CreateDefaultVpc after a delete);
 * - security groups (security-groups.ts): CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
 *   AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress, DescribeSecurityGroupRules;
 * - instances (instances.ts, instance-status.ts, network-interfaces.ts, volumes.ts, keys.ts): RunInstances,
 *   DescribeInstances, TerminateInstances, DescribeInstanceStatus, GetConsoleOutput, DescribeNetworkInterfaces,
 *   DescribeVolumes, DeleteVolume, CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.
 * Any other action of the real EC2 API (ec2-action-names.ts, from `@aws-sdk/client-ec2`) answers HTTP 501 in the
 * sandbox's own shape (core/unimplemented.ts), counted under its name; a name that is no EC2 action answers EC2's
 * `InvalidAction`.
 *
 * The same endpoint serves the AWS Price List Query API (requests carrying `X-Amz-Target: AWSPriceListService.*`,
 * signed for the service `pricing`; see pricing.ts), counted as `pricing.GetProducts`.
 *
 * Every request is counted under its Action (core/calls.ts). With eventual consistency on (core/consistency.ts),
 * Describe* calls do not see resources younger than the window (`Invalid…ID.NotFound` by id, left out of lists and
 * DescribeTags); other actions naming them work.
 */
const API_VERSION = '2016-11-15';
const MAX_BODY = 1024 * 1024;

const ACTIONS: Record<string, ActionDef> = {
  ...NETWORK_ACTIONS,
  ...DEFAULT_VPC_ACTIONS,
  ...SECURITY_GROUP_ACTIONS,
  ...INSTANCE_ACTIONS,
  ...INSTANCE_STATUS_ACTIONS,
  ...NETWORK_INTERFACE_ACTIONS,
  ...VOLUME_ACTIONS,
  ...KEY_ACTIONS,
  ...CATALOG_ACTIONS,
  ...ACCOUNT_ACTIONS,
  ...META_ACTIONS,
};

/** The EC2 actions the sandbox serves (each one a real EC2 action: ec2-action-names.spec.ts). */
export const SERVED_ACTIONS: readonly string[] = Object.keys(ACTIONS);

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomString = (n: number, alphabet: string): string => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');

/** The error an injected fault produces, in EC2's shape for that kind of call. */
function faultError(kind: FaultKind, op: Operation, p: Params): Ec2Error {
  switch (kind) {
    case 'throttle':
      return new Ec2Error(503, 'RequestLimitExceeded', 'Request limit exceeded.');
    case 'server-error':
      return new Ec2Error(500, 'InternalError', 'An internal error has occurred');
    case 'quota': {
      const byOp: Partial<Record<Operation, [string, string]>> = {
        'instance.create': [
          'VcpuLimitExceeded',
          'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.',
        ],
        'network.create': ['VpcLimitExceeded', 'The maximum number of VPCs has been reached.'],
        'subnet.create': ['SubnetLimitExceeded', 'The maximum number of subnets has been reached.'],
        'firewall.create': ['SecurityGroupLimitExceeded', 'The maximum number of security groups has been reached.'],
        'gateway.create': ['InternetGatewayLimitExceeded', 'The maximum number of internet gateways has been reached.'],
      };
      const [code, message] = byOp[op] ?? ['ResourceLimitExceeded', 'You have exceeded an Amazon EC2 resource limit.'];
      return new Ec2Error(400, code, message);
    }
    case 'capacity': {
      if (op !== 'instance.create') return new Ec2Error(503, 'Unavailable', "The server is overloaded and can't handle the request.");
      const type = p.str('InstanceType') ?? 'm1.small';
      return new Ec2Error(
        400,
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${type} capacity in the Availability Zone you requested. Our system will be working on provisioning additional capacity. You can currently get ${type} capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone.`,
      );
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Ec2Error(400, 'InvalidRequest', 'The request body is too large.'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Creates the EC2 module of the sandbox. All state lives in the returned module (one per emulator). */
export function createAwsCloud(ctx: CloudContext): CloudModule {
  const accounts = new Map<string, Account>();
  const images = new Map<string, ImageInfo[]>();
  const shared: Ec2Shared = {
    ctx,
    publicIps: ctx.publicIps,
    images(region) {
      let list = images.get(region);
      if (!list) {
        list = regionImages(region);
        images.set(region, list);
      }
      return list;
    },
  };

  const pricing = createAwsPricing();

  /** A Price List Query API request (JSON 1.1, `X-Amz-Target: AWSPriceListService.<Operation>`), see pricing.ts. */
  async function handlePricing(req: IncomingMessage, res: ServerResponse, target: string, body: string, requestId: string): Promise<void> {
    const send = (status: number, doc: unknown, errorType?: string) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      res.end(JSON.stringify(doc));
    };
    const operation = target.slice('AWSPriceListService.'.length);
    ctx.countCall?.('aws', `pricing.${operation === 'GetProducts' ? operation : UNKNOWN_CALL}`);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      try {
        await verifySigV4(
          { method: req.method ?? 'POST', path: url.pathname, query, headers: req.headers, body },
          (accessKeyId) => {
            const a = accounts.get(accessKeyId);
            return a && { account: a, secretAccessKey: a.secretAccessKey };
          },
          (region) => PRICING_REGIONS.includes(region),
          new Date(),
          'pricing',
        );
      } catch (e) {
        if (!(e instanceof Ec2Error)) throw e;
        // the JSON services' own names for the same refusals
        const code = ({ AuthFailure: 'UnrecognizedClientException', SignatureDoesNotMatch: 'InvalidSignatureException', MissingAuthenticationToken: 'MissingAuthenticationTokenException', IncompleteSignature: 'IncompleteSignatureException', RequestExpired: 'InvalidSignatureException' } as Record<string, string>)[e.code] ?? e.code;
        throw new PricingError(e.code === 'MissingAuthenticationToken' || e.code === 'SignatureDoesNotMatch' ? 403 : 400, code, e.message);
      }
      if (req.method !== 'POST') throw new PricingError(400, 'UnknownOperationException', 'Only POST is accepted.');
      if (operation !== 'GetProducts') throw new PricingError(400, 'UnknownOperationException', `The operation ${operation} is not served by the sandbox's Price List API (GetProducts only).`);
      const fault = ctx.takeFault('aws', 'read');
      if (fault === 'throttle') throw new PricingError(400, 'ThrottlingException', 'Rate exceeded');
      if (fault) throw new PricingError(500, 'InternalErrorException', 'An internal error has occurred');
      await ctx.delay('read');
      let parsed: unknown;
      try {
        parsed = body === '' ? {} : JSON.parse(body);
      } catch {
        throw new PricingError(400, 'SerializationException', 'Request body is not valid JSON.');
      }
      send(200, pricing.getProducts(parsed));
    } catch (e) {
      if (e instanceof PricingError) return send(e.status, { __type: e.code, Message: e.message }, e.code);
      console.error('aws sandbox: pricing internal error', e);
      send(500, { __type: 'InternalErrorException', Message: 'An internal error has occurred' }, 'InternalErrorException');
    }
  }

  const regionState = (account: Account, region: string): RegionState => {
    let rs = account.regions.get(region);
    if (!rs) {
      rs = new RegionState(region);
      account.regions.set(region, rs);
      const info = findRegion(region);
      if (info) createDefaultVpc(rs, account, info);
    }
    return rs;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    // Every request is counted once, under its Action (core/calls.ts); unreadable or unknown ones as `(unknown)`.
    let counted = false;
    const count = (call: string) => {
      if (counted) return;
      counted = true;
      ctx.countCall?.('aws', call);
    };
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId, server: 'AmazonEC2' });
      res.end(body);
    };
    try {
      const body = await readBody(req);
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AWSPriceListService.')) {
        counted = true;
        return await handlePricing(req, res, target, body, requestId);
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const entries: [string, string][] = [...url.searchParams];
      const contentType = String(req.headers['content-type'] ?? '');
      if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) entries.push(...new URLSearchParams(body));
      const named = entries.find(([k]) => k === 'Action')?.[1];
      count(named !== undefined && (Object.prototype.hasOwnProperty.call(ACTIONS, named) || EC2_ACTION_NAMES.has(named)) ? named : UNKNOWN_CALL);
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }

      const caller = await verifySigV4(
        { method: req.method ?? 'GET', path: url.pathname, query, headers: req.headers, body },
        (accessKeyId) => {
          const a = accounts.get(accessKeyId);
          return a && { account: a, secretAccessKey: a.secretAccessKey };
        },
        (region) => findRegion(region) !== undefined,
      );

      const p = Params.fromEntries(entries);
      const action = p.str('Action');
      if (!action) throw new Ec2Error(400, 'MissingAction', 'The request must contain the parameter Action');
      const version = p.str('Version');
      if (!version) throw new Ec2Error(400, 'MissingParameter', 'The request must contain the parameter Version');
      if (version !== API_VERSION) throw new Ec2Error(400, 'NoSuchVersion', `The requested version (${version}) of service AmazonEC2 does not exist`);
      const def = Object.prototype.hasOwnProperty.call(ACTIONS, action) ? ACTIONS[action] : undefined;
      if (!def) {
        // A real EC2 action the sandbox does not serve is the sandbox's gap, never EC2's "invalid action".
        if (EC2_ACTION_NAMES.has(action)) return ctx.unimplemented(res, 'aws', action);
        throw new Ec2Error(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
      }

      const fault = ctx.takeFault('aws', def.op);
      if (fault) throw faultError(fault, def.op, p);

      p.allowOnly(['Action', 'Version', ...def.params]);
      if (p.bool('DryRun')) throw new Ec2Error(412, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');

      if (!def.latencyInBackground) await ctx.delay(def.op);
      const region = findRegion(caller.region);
      if (!region) throw new Ec2Error(401, 'AuthFailure', `Credential should be scoped to a valid region, not '${caller.region}'.`);
      const c: ActionContext = { action, p, account: caller.account, rs: regionState(caller.account, caller.region), region, shared };
      send(200, responseDocument(action, requestId, def.run(c)));
    } catch (e) {
      count(UNKNOWN_CALL);
      if (e instanceof SandboxUnimplemented) return ctx.unimplemented(res, e.cloud, e.operation);
      if (e instanceof Ec2Error) {
        send(e.status, errorDocument(e.code, e.message, requestId));
      } else {
        console.error('aws sandbox: internal error', e);
        send(500, errorDocument('InternalError', 'An internal error has occurred', requestId));
      }
    }
  }

  return {
    cloud: 'aws',
    handler: (req, res) => {
      void handle(req, res);
    },

    prices: pricing.admin,

    createAccount() {
      let accessKeyId: string;
      do accessKeyId = `AKIA${randomString(16, UPPER_ALNUM)}`;
      while (accounts.has(accessKeyId));
      const account: Account = {
        id: `${randomInt(1, 10)}${randomString(11, '0123456789')}`,
        accessKeyId,
        secretAccessKey: randomString(40, SECRET_CHARS),
        regions: new Map(),
      };
      accounts.set(accessKeyId, account);
      return { cloud: 'aws', aws: { accessKeyId, secretAccessKey: account.secretAccessKey } };
    },

    inventory(): InventoryItem[] {
      const out: InventoryItem[] = [];
      for (const a of accounts.values()) {
        for (const rs of a.regions.values()) {
          const item = (kind: string, id: string, tags: Map<string, string>, name?: string): InventoryItem => ({
            cloud: 'aws',
            account: a.id,
            region: rs.region,
            kind,
            id,
            name: name ?? tags.get('Name'),
            tags: tagsToRecord(tags),
          });
          // The default VPC, its default subnets and internet gateway come with the account (default-vpc.ts).
          for (const v of rs.vpcs.values()) if (!v.isDefault) out.push(item('vpc', v.id, v.tags));
          for (const s of rs.subnets.values()) if (!s.defaultForAz) out.push(item('subnet', s.id, s.tags));
          for (const g of rs.internetGateways.values()) if (!g.isDefault) out.push(item('internet-gateway', g.id, g.tags));
          // A VPC's main route table and `default` security group are part of the VPC (made and deleted with it).
          for (const t of rs.routeTables.values()) if (!t.main) out.push(item('route-table', t.id, t.tags));
          for (const g of rs.securityGroups.values()) if (!g.isDefault) out.push(item('security-group', g.id, g.tags, g.name));
          for (const i of rs.instances.values()) if (i.state !== 'terminated') out.push(item('instance', i.id, i.tags));
          // Volumes that outlived their instance (DeleteOnTermination false); attached ones go with the instance.
          for (const v of rs.volumes.values()) if (!v.attachment) out.push(item('volume', v.id, v.tags));
          for (const k of rs.keyPairs.values()) out.push(item('key-pair', k.id, k.tags, k.name));
        }
      }
      return out;
    },
  };
}
