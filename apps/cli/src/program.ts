import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Argument, Command, Option } from 'commander';
import { stringify } from 'yaml';
import { Api, ApiError } from './api';
import { ClusterFlags, ClusterRequest, clusterRequest } from './cluster-spec';
import { bashCompletion, zshCompletion } from './completion';
import { configPath, normaliseApiUrl, readConfig, resolveTarget, writeConfig } from './config';
import {
  CLOUDS, Cloud, awsCredentialsFile, awsFromProfile, azureFromServicePrincipal, digitalOceanToken, doctlConfigFile, gcpFromKeyFile, readText,
} from './credentials';
import { CliError, ExitCode } from './errors';
import { defaultKubeconfigPath, mergeKubeconfig, readKubeconfig, renamed, writeKubeconfig } from './kubeconfig';
import { OUTPUT_FORMATS, OutputFormat, age, outputFormat, parseDuration, print, table } from './output';
import type { ClusterEvent, ClusterPlan, ClusterSummary, ClusterView, EventPage, NodeView } from './views';
import { Progress, eventLine, lastEventId, watchCluster } from './wait';

/** Where the CLI writes and reads; replaced by tests. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** All of stdin (for `--api-key-stdin`, `-f -`). */
  stdin: () => string;
  /** Asks a question on the terminal without echoing the answer; undefined when stdin is not a terminal. */
  secret?: (question: string) => Promise<string>;
  confirm?: (question: string) => Promise<boolean>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_TIMEOUT = '30m';

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
const waitOptions = (c: Command) => c
  .option('-w, --wait', 'follow the operation until it is done, printing progress (per cloud, per node) on stderr')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 5), e.g. 90s, 10m', DEFAULT_TIMEOUT)
  .option('--events', 'with --wait: print every cluster event, not only warnings');

/** Builds the `skyweave` command tree. Actions throw CliError; main.ts turns errors into messages and exit codes. */
export function buildProgram(io: Io): Command {
  const program = new Command('skyweave')
    .description('Skyweave: one Kubernetes cluster across AWS, GCP, Azure and DigitalOcean, from the command line')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText('after', `
Environment: SKYWEAVE_API_URL, SKYWEAVE_API_KEY (over the config file), SKYWEAVE_CONFIG (config file path).
Exit codes: 0 ok, 1 failure, 2 usage, 3 not logged in / refused key, 4 not found, 5 timed out.`);
  const api = () => new Api(resolveTarget(io.env, (m) => io.err(`warning: ${m}\n`)));
  const progressOut = (s: string) => io.err(s);

  // ---------------------------------------------------------------- login / logout
  program.command('login')
    .description(`store the API URL and key in ${displayPath(configPath(io.env), io.env)} (mode 0600), after checking them`)
    .option('--url <url>', 'the API URL, e.g. https://skyweave.example.com (default: the stored one)')
    .option('--api-key <key>', 'the API key (visible in your shell history: prefer --api-key-stdin or the prompt)')
    .option('--api-key-stdin', 'read the API key from stdin')
    .addHelpText('after', '\nExample:\n  echo "$KEY" | skyweave login --url https://skyweave.example.com --api-key-stdin')
    .action(async (o: { url?: string; apiKey?: string; apiKeyStdin?: boolean }) => {
      const file = configPath(io.env);
      const stored = readConfig(file);
      const url = o.url ?? io.env.SKYWEAVE_API_URL ?? stored.apiUrl;
      if (!url) throw new CliError('give the API URL: skyweave login --url <url>', ExitCode.Usage);
      const apiUrl = normaliseApiUrl(url);
      let apiKey = o.apiKey ?? (o.apiKeyStdin ? io.stdin().trim() : undefined);
      if (!apiKey && io.secret) apiKey = (await io.secret('API key: ')).trim();
      if (!apiKey) throw new CliError('give the API key: --api-key-stdin, or run login in a terminal to be asked', ExitCode.Usage);
      const a = new Api({ apiUrl, apiKey });
      const creds = await a.get<{ items: unknown[] }>('/v1/cloud-credentials');
      const clusters = await a.get<{ total: number }>('/v1/clusters', { limit: 1 });
      writeConfig({ apiUrl, apiKey }, file);
      io.out(`Logged in to ${apiUrl}: ${creds.items.length} cloud credential set(s), ${clusters.total} cluster(s). Saved to ${file}\n`);
    });
  program.command('logout')
    .description('forget the stored API key')
    .action(() => {
      const file = configPath(io.env);
      const c = readConfig(file);
      if (!c.apiKey) return io.out('Not logged in.\n');
      writeConfig({ apiUrl: c.apiUrl }, file);
      io.out(`Logged out of ${c.apiUrl ?? 'the API'}.\n`);
    });

  // ---------------------------------------------------------------- credentials
  const credentials = program.command('credentials').alias('creds').description('cloud credentials of the organisation (one set per cloud)');
  const addCreds = credentials.command('add').description('check and store one cloud\'s credentials, read from the files you already have');
  const common = (c: Command) => c
    .option('--name <name>', 'a name for the set (default: the cloud)')
    .option('--replace', 'replace the cloud\'s stored set if there is one (PUT), instead of failing with 409')
    .addOption(outputOption());
  common(addCreds.command('aws')
    .description('an AWS profile of ~/.aws/credentials (aws_access_key_id, aws_secret_access_key)')
    .option('--profile <name>', 'the profile (default: $AWS_PROFILE, else "default")')
    .option('--credentials-file <file>', 'the shared credentials file (default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)')
    .addHelpText('after', '\nExample:\n  skyweave credentials add aws --profile prod'))
    .action(async (o: { profile?: string; credentialsFile?: string } & CredOpts) => {
      const file = o.credentialsFile ?? awsCredentialsFile(io.env);
      const profile = o.profile ?? io.env.AWS_PROFILE ?? 'default';
      await storeCredentials(api(), io, 'aws', awsFromProfile(readText(file), profile, file), o);
    });
  common(addCreds.command('gcp')
    .description('a GCP service-account key file (JSON, as `gcloud iam service-accounts keys create` writes it)')
    .option('--key-file <file>', 'the key file (default: $GOOGLE_APPLICATION_CREDENTIALS)')
    .addHelpText('after', '\nExample:\n  skyweave credentials add gcp --key-file ~/keys/skyweave-sa.json'))
    .action(async (o: { keyFile?: string } & CredOpts) => {
      const file = o.keyFile ?? io.env.GOOGLE_APPLICATION_CREDENTIALS;
      if (!file) throw new CliError('give the key file: --key-file <file> (or set GOOGLE_APPLICATION_CREDENTIALS)', ExitCode.Usage);
      await storeCredentials(api(), io, 'gcp', gcpFromKeyFile(readText(file), file), o);
    });
  common(addCreds.command('azure')
    .description('an Azure service principal: the JSON `az ad sp create-for-rbac` prints (appId, password, tenant)')
    .option('--sp-file <file>', 'the service principal JSON (default: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID from the environment)')
    .option('--subscription <id>', 'the subscription id (default: $AZURE_SUBSCRIPTION_ID)')
    .addHelpText('after', '\nExample:\n  az ad sp create-for-rbac --role Contributor --scopes /subscriptions/$SUB > sp.json\n  skyweave credentials add azure --sp-file sp.json --subscription $SUB'))
    .action(async (o: { spFile?: string; subscription?: string } & CredOpts) => {
      const subscription = o.subscription ?? io.env.AZURE_SUBSCRIPTION_ID;
      const text = o.spFile ? readText(o.spFile)
        : JSON.stringify({ appId: io.env.AZURE_CLIENT_ID, password: io.env.AZURE_CLIENT_SECRET, tenant: io.env.AZURE_TENANT_ID });
      await storeCredentials(api(), io, 'azure', azureFromServicePrincipal(text, subscription, o.spFile ?? 'the environment (AZURE_CLIENT_ID …)'), o);
    });
  common(addCreds.command('digitalocean').alias('do')
    .description('a DigitalOcean token from $DIGITALOCEAN_TOKEN (or $DIGITALOCEAN_ACCESS_TOKEN, or doctl\'s config)')
    .option('--token-stdin', 'read the token from stdin instead')
    .addHelpText('after', '\nExample:\n  DIGITALOCEAN_TOKEN=dop_v1_… skyweave credentials add digitalocean'))
    .action(async (o: { tokenStdin?: boolean } & CredOpts) => {
      const doctl = doctlConfigFile(io.env);
      const creds = o.tokenStdin ? { token: io.stdin().trim() } : digitalOceanToken(io.env, doctl ? readText(doctl) : undefined);
      await storeCredentials(api(), io, 'digitalocean', creds, o);
    });
  credentials.command('list').alias('ls')
    .description('the stored sets (never their secrets)')
    .addOption(outputOption())
    .action(async (o: { output: OutputFormat }) => {
      const r = await api().get<{ items: CredentialView[] }>('/v1/cloud-credentials');
      print(outputFormat(o.output), r.items, () => table(['id', 'cloud', 'name', 'identity', 'age'], r.items.map((c) => [c.id, c.cloud, c.name, c.identity, age(c.createdAt)])), io.out);
    });
  credentials.command('delete').alias('rm')
    .description('delete one set, by id or by cloud (refused while a live cluster uses that cloud)')
    .argument('<id-or-cloud>')
    .action(async (ref: string) => {
      const a = api();
      const id = UUID.test(ref) ? ref : (await a.get<{ items: CredentialView[] }>('/v1/cloud-credentials')).items.find((c) => c.cloud === ref)?.id;
      if (!id) throw new CliError(`no ${ref} credentials in this organisation`, ExitCode.NotFound);
      await a.request('DELETE', `/v1/cloud-credentials/${id}`);
      io.out(`Deleted credentials ${id}\n`);
    });

  // ---------------------------------------------------------------- cluster
  const cluster = program.command('cluster').alias('clusters').description('plan, create, list, inspect, reconcile and delete clusters');
  const specOptions = (c: Command) => c
    .option('-f, --file <file>', 'the cluster as YAML or JSON, the body of POST /v1/clusters (- for stdin); flags override it')
    .option('--name <name>', 'cluster name: 3–40 lowercase letters, digits, dashes')
    .option('--region <region>', 'region, e.g. us-east (GET /v1/regions lists them)')
    .option('--control-plane <cloud[:count[:type]]>', 'the masters: cloud, count 1 or 3, instance type, e.g. aws:3')
    .option('--worker <cloud[:count[:type]]>', 'a group of workers (repeatable), e.g. --worker gcp:2 --worker azure:1:Standard_D2s_v5', collect)
    .option('--clouds <list>', 'the clusters\' clouds, comma-separated (default: those named by --control-plane and --worker)')
    .option('--kubernetes-version <version>', 'a released patch, e.g. 1.36.4 (default: the newest)')
    .addOption(new Option('--mesh <mode>', 'WireGuard topology').choices(['full', 'cross-location']))
    .addOption(outputOption());
  specOptions(cluster.command('plan')
    .description('what creating this cluster would do, without doing it (POST /v1/clusters/plan)')
    .addHelpText('after', '\nExample:\n  skyweave cluster plan --name prod --region us-east --control-plane aws:3 --worker gcp:2 --worker azure'))
    .action(async (o: ClusterFlags & { output: OutputFormat }) => {
      const body = clusterRequest(o, io.stdin);
      let plan: ClusterPlan;
      try {
        plan = await api().request<ClusterPlan>('POST', '/v1/clusters/plan', { body });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
          throw new CliError(`this Skyweave API has no cluster planning: POST /v1/clusters/plan answered ${e.status} (${e.problem?.title ?? 'not found'}); upgrade the installation, or use \`cluster create\``, ExitCode.NotFound);
        }
        throw e;
      }
      print(outputFormat(o.output), plan, () => planTable(plan), io.out);
    });
  waitOptions(specOptions(cluster.command('create')
    .description('create a cluster from flags or -f cluster.yaml; --wait follows it to Ready')
    .addHelpText('after', `
Examples:
  skyweave cluster create --name prod --region us-east --control-plane aws:3 --worker aws --worker gcp:2 --wait
  skyweave cluster create -f cluster.yaml --wait -o json`)))
    .option('-y, --yes', 'create without asking (a terminal is asked after the plan is shown; elsewhere nobody is asked)')
    .action(async (o: ClusterFlags & WaitOpts & { output: OutputFormat; yes?: boolean }) => {
      const a = api();
      const body = clusterRequest(o, io.stdin);
      const format = outputFormat(o.output);
      const timeoutMs = parseDuration(o.timeout);
      // issue 14: the plan and its cost are shown before every create (on stderr: stdout is the created cluster)
      const plan = await planBeforeCreate(a, body, progressOut);
      if (!o.yes && io.confirm) {
        const cost = typeof plan?.cost.usdPerHour === 'number' ? ` at about $${plan.cost.usdPerHour.toFixed(4)}/hour` : '';
        if (!(await io.confirm(`Create cluster ${body.name}${cost}? [y/N] `))) throw new CliError('not created', ExitCode.Failure);
      }
      let view = await a.request<ClusterView>('POST', '/v1/clusters', { body });
      if (o.wait) {
        const progress = new Progress(progressOut);
        progress.line(`cluster ${view.name} (${view.id}) created: ${view.nodes.length} node(s) on ${view.spec.clouds.join(', ')}`);
        const r = await watchCluster(a, view.id, {
          timeoutMs, progress, events: { after: null, all: Boolean(o.events) },
          done: (v) => (v?.phase === 'Ready' ? `cluster ${v.name} Ready in ${progress.elapsed().toFixed(1)}s: ${summary(v)}` : v === undefined || v.phase === 'Deleting' || v.phase === 'Deleted' ? `cluster is being deleted` : undefined),
        });
        if (r.view?.phase !== 'Ready') throw new CliError(`${r.outcome} before it was Ready`);
        progress.line(r.outcome);
        view = r.view;
      }
      print(format, view, () => (o.wait ? clusterTable(view) : `cluster ${view.name} created (${view.id}), ${view.phase}; follow it with: skyweave cluster get ${view.id} --wait`), io.out);
    });
  cluster.command('list').alias('ls')
    .description('the organisation\'s clusters')
    .addOption(outputOption())
    .action(async (o: { output: OutputFormat }) => {
      const items = await listClusters(api());
      print(outputFormat(o.output), items, () => table(['id', 'name', 'phase', 'region', 'clouds', 'age'], items.map((c) => [c.id, c.name, c.phase, c.region, c.clouds.join(','), age(c.createdAt)])), io.out);
    });
  waitOptions(cluster.command('get')
    .description('one cluster: phase, conditions, networks per cloud, nodes (by id or name); --wait until it is settled')
    .argument('<cluster>', 'cluster id or name')
    .addOption(outputOption()))
    .action(async (ref: string, o: WaitOpts & { output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      let view = await a.get<ClusterView>(`/v1/clusters/${id}`);
      if (o.wait) {
        const progress = new Progress(progressOut);
        const r = await watchCluster(a, id, { timeoutMs: parseDuration(o.timeout), progress, events: { after: await lastEventId(a, id), all: Boolean(o.events) },
          done: (v) => (!v || v.phase === 'Deleted' ? 'cluster deleted' : v.phase === 'Ready' && settled(v) ? `cluster ${v.name} Ready` : undefined) });
        progress.line(r.outcome);
        if (r.view) view = r.view;
      }
      print(outputFormat(o.output), view, () => clusterTable(view), io.out);
    });
  waitOptions(cluster.command('delete').alias('rm')
    .description('delete a cluster: every VM tagged for it, then every network; --wait until it is gone')
    .argument('<cluster>', 'cluster id or name')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .addOption(outputOption()))
    .action(async (ref: string, o: WaitOpts & { yes?: boolean; output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      if (!o.yes) {
        if (!io.confirm) throw new CliError(`deleting ${ref} destroys its VMs and networks: add --yes`, ExitCode.Usage);
        if (!(await io.confirm(`Delete cluster ${ref} and every VM and network it has? [y/N] `))) throw new CliError('not deleted', ExitCode.Failure);
      }
      let view = await a.request<ClusterView>('DELETE', `/v1/clusters/${id}`);
      if (o.wait) {
        const progress = new Progress(progressOut);
        progress.line(`cluster ${view.name}: delete requested`);
        const r = await watchCluster(a, id, { timeoutMs: parseDuration(o.timeout), progress, events: { after: await lastEventId(a, id), all: Boolean(o.events) },
          done: (v) => (!v || v.phase === 'Deleted' ? `cluster ${view.name} deleted in ${progress.elapsed().toFixed(1)}s` : undefined) });
        progress.line(r.outcome);
        if (r.view) view = r.view;
      }
      print(outputFormat(o.output), view, () => `cluster ${view.name} ${o.wait ? 'deleted' : `deleting (${view.id}); follow it with: skyweave events ${view.id} --follow`}`, io.out);
    });
  waitOptions(cluster.command('reconcile')
    .description('run a full reconcile now: every cloud listed by the cluster\'s tag, drift repaired, strays removed')
    .argument('<cluster>', 'cluster id or name')
    .addOption(outputOption()))
    .action(async (ref: string, o: WaitOpts & { output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      const after = o.wait ? await lastEventId(a, id) : null;
      const r = await a.request<{ status: string }>('POST', `/v1/clusters/${id}/reconcile`);
      if (!o.wait) return print(outputFormat(o.output), r, () => `full reconcile ${r.status}`, io.out);
      const progress = new Progress(progressOut);
      progress.line(`full reconcile ${r.status}`);
      let seen = after;
      let ended: ClusterEvent | undefined;
      const deadline = Date.now() + parseDuration(o.timeout);
      while (!ended) {
        const page = await a.get<EventPage>(`/v1/clusters/${id}/events`, { after: seen ?? undefined, limit: 1000 });
        for (const e of page.items) {
          progress.line(eventLine(e));
          if (e.reason === 'Reconciled' || e.reason === 'ReconcileFailed') ended = e;
        }
        seen = page.next;
        if (ended) break;
        if (Date.now() > deadline) throw new CliError('timed out waiting for the reconcile to end; it goes on: skyweave events ' + id + ' --follow', ExitCode.Timeout);
        await sleep(1000);
      }
      const last = (await a.get<{ items: ReconcileRecord[] }>(`/v1/clusters/${id}/reconciles`, { limit: 1 })).items[0];
      progress.line(ended.reason === 'Reconciled' ? `reconciled: found ${last?.found.length ?? 0} difference(s), changed ${last?.changed.length ?? 0}` : `reconcile failed: ${ended.message}`);
      print(outputFormat(o.output), last ?? ended, () => table(['replica', 'trigger', 'found', 'changed', 'error'], [[last?.replica, last?.trigger, last?.found.join('; '), last?.changed.join('; '), last?.error]]), io.out);
      if (ended.reason === 'ReconcileFailed') throw new CliError(`reconcile failed: ${ended.message}`);
    });
  cluster.command('kubeconfig')
    .description('the cluster\'s admin kubeconfig, merged into ~/.kube/config as a new context (or written to a file)')
    .argument('<cluster>', 'cluster id or name')
    .option('--file <file>', 'write a standalone kubeconfig here (0600) instead of merging; - for stdout')
    .option('--kubeconfig <file>', 'the kubeconfig to merge into (default: first of $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'the name of the context, cluster and user (default: skyweave-<cluster name>)')
    .option('--no-use-context', 'keep the current context (default: switch to the new one)')
    .addHelpText('after', '\nExamples:\n  skyweave cluster kubeconfig prod && kubectl get nodes\n  skyweave cluster kubeconfig prod --file prod.kubeconfig')
    .action(async (ref: string, o: { file?: string; kubeconfig?: string; context?: string; useContext: boolean }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      const view = await a.get<ClusterView>(`/v1/clusters/${id}`);
      const yamlText = await a.request<string>('GET', `/v1/clusters/${id}/kubeconfig`, { accept: 'application/yaml' });
      const name = o.context ?? `skyweave-${view.name}`;
      const doc = renamed(yamlText, name);
      if (o.file === '-') return io.out(stringify(doc));
      if (o.file) {
        writeKubeconfig(path.resolve(o.file), doc);
        return io.out(`Wrote the kubeconfig of ${view.name} to ${o.file} (context ${name})\n`);
      }
      const target = o.kubeconfig ? path.resolve(o.kubeconfig) : defaultKubeconfigPath(io.env);
      const merged = mergeKubeconfig(readKubeconfig(target), doc, o.useContext);
      writeKubeconfig(target, merged);
      io.out(`Context ${name} merged into ${target}${merged['current-context'] === name ? ' (current context)' : ''}\n`);
    });

  // ---------------------------------------------------------------- nodes
  const nodes = program.command('nodes').alias('node').description('add, remove and list a cluster\'s workers');
  nodes.command('list').alias('ls')
    .description('the cluster\'s nodes')
    .argument('<cluster>', 'cluster id or name')
    .option('-a, --all', 'include terminated nodes')
    .addOption(outputOption())
    .action(async (ref: string, o: { all?: boolean; output: OutputFormat }) => {
      const a = api();
      const view = await a.get<ClusterView>(`/v1/clusters/${await resolveCluster(a, ref)}`);
      const list = view.nodes.filter((n) => o.all || n.phase !== 'Terminated');
      print(outputFormat(o.output), list, () => nodesTable(list), io.out);
    });
  waitOptions(nodes.command('add')
    .description('add workers of one cloud and instance type; --wait until they have joined')
    .argument('<cluster>', 'cluster id or name')
    .addOption(new Option('--cloud <cloud>', 'the workers\' cloud').choices(CLOUDS).makeOptionMandatory())
    .option('--count <n>', 'how many (1–20)', '1')
    .option('--instance-type <type>', 'instance type (default: the cloud\'s default)')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  skyweave nodes add prod --cloud gcp --count 2 --wait'))
    .action(async (ref: string, o: WaitOpts & { cloud: Cloud; count: string; instanceType?: string; output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      const count = Number(o.count);
      if (!Number.isInteger(count) || count < 1) throw new CliError('--count must be a whole number of workers', ExitCode.Usage);
      const after = o.wait ? await lastEventId(a, id) : null;
      const r = await a.request<{ nodes: NodeView[] }>('POST', `/v1/clusters/${id}/nodes`, { body: { cloud: o.cloud, count, ...(o.instanceType ? { instanceType: o.instanceType } : {}) } });
      let added = r.nodes;
      if (o.wait) {
        const progress = new Progress(progressOut);
        progress.line(`${added.length} worker(s) added on ${o.cloud}: ${added.map((n) => n.name).join(', ')}`);
        const ids = new Set(added.map((n) => n.id));
        const w = await watchCluster(a, id, { timeoutMs: parseDuration(o.timeout), progress, nodes: ids, events: { after, all: Boolean(o.events) },
          done: (v) => {
            if (!v || v.phase === 'Deleting' || v.phase === 'Deleted') return 'cluster is being deleted';
            const mine = v.nodes.filter((n) => ids.has(n.id));
            return mine.every((n) => n.phase === 'Joined') ? `${mine.length} worker(s) joined in ${progress.elapsed().toFixed(1)}s` : undefined;
          } });
        const mine = w.view?.nodes.filter((n) => ids.has(n.id)) ?? [];
        if (!mine.length || !mine.every((n) => n.phase === 'Joined')) throw new CliError(w.outcome);
        progress.line(w.outcome);
        added = mine;
      }
      print(outputFormat(o.output), added, () => nodesTable(added), io.out);
    });
  waitOptions(nodes.command('remove').alias('rm')
    .description('remove one worker (drained first); --wait until its VM is terminated')
    .argument('<cluster>', 'cluster id or name')
    .argument('<node>', 'node id or name')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  skyweave nodes remove prod prod-a1b2c3-worker-3 --wait'))
    .action(async (ref: string, nodeRef: string, o: WaitOpts & { output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      const before = await a.get<ClusterView>(`/v1/clusters/${id}`);
      const target = before.nodes.find((n) => (n.id === nodeRef || n.name === nodeRef) && n.phase !== 'Terminated');
      if (!target) throw new CliError(`cluster ${before.name} has no live node ${nodeRef}`, ExitCode.NotFound);
      const after = o.wait ? await lastEventId(a, id) : null;
      let node = await a.request<NodeView>('DELETE', `/v1/clusters/${id}/nodes/${target.id}`);
      if (o.wait) {
        const progress = new Progress(progressOut);
        progress.line(`${target.name}: removal requested`);
        const w = await watchCluster(a, id, { timeoutMs: parseDuration(o.timeout), progress, nodes: new Set([target.id]), events: { after, all: Boolean(o.events) },
          done: (v) => {
            const n = v?.nodes.find((x) => x.id === target.id);
            return !v || !n || n.phase === 'Terminated' ? `${target.name} removed in ${progress.elapsed().toFixed(1)}s` : undefined;
          } });
        progress.line(w.outcome);
        node = w.view?.nodes.find((x) => x.id === target.id) ?? node;
      }
      print(outputFormat(o.output), node, () => nodesTable([node]), io.out);
    });

  // ---------------------------------------------------------------- events
  program.command('events')
    .description('a cluster\'s events in order; --follow prints new ones as they come (until the cluster is deleted)')
    .argument('<cluster>', 'cluster id or name')
    .option('-f, --follow', 'keep printing new events')
    .option('--after <id>', 'only events after this event id')
    .option('--interval <duration>', 'with --follow: how often to ask', '1s')
    .addOption(outputOption())
    .addHelpText('after', '\nWith --follow, -o json prints one JSON object per line (NDJSON); -o yaml one document per event.\n\nExample:\n  skyweave events prod --follow')
    .action(async (ref: string, o: { follow?: boolean; after?: string; interval: string; output: OutputFormat }) => {
      const a = api();
      const id = await resolveCluster(a, ref);
      const format = outputFormat(o.output);
      const interval = parseDuration(o.interval);
      let after = o.after ?? null;
      const all: ClusterEvent[] = [];
      let header = true;
      for (;;) {
        let page: EventPage;
        try {
          page = await a.get<EventPage>(`/v1/clusters/${id}/events`, { after: after ?? undefined, limit: 1000 });
        } catch (e) {
          if (o.follow && e instanceof ApiError && e.status === 404 && all.length + (after ? 1 : 0) > 0) return;
          throw e;
        }
        after = page.next;
        if (!o.follow) {
          all.push(...page.items);
          if (page.items.length < 1000) break;
          continue;
        }
        for (const e of page.items) {
          if (format === 'json') io.out(`${JSON.stringify(e)}\n`);
          else if (format === 'yaml') io.out(`---\n${stringify(e)}`);
          else {
            // streamed: fixed columns, the header once
            if (header) io.out(`${streamRow(['TIME', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'])}\n`);
            header = false;
            io.out(`${streamRow([eventTime(e), e.type, e.reason, e.object ?? '-', e.message])}\n`);
          }
          all.push(e);
          if (e.reason === 'Deleted') return;
        }
        await sleep(interval);
      }
      print(format, all, () => eventsTable(all), io.out);
    });

  // ---------------------------------------------------------------- completion
  program.command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText('after', '\nExamples:\n  source <(skyweave completion bash)          # ~/.bashrc\n  source <(skyweave completion zsh)           # ~/.zshrc, after compinit')
    .action((shell: 'bash' | 'zsh') => io.out(shell === 'bash' ? bashCompletion(program) : zshCompletion(program)));

  return program;
}

interface CredOpts { name?: string; replace?: boolean; output: OutputFormat }
interface CredentialView { id: string; cloud: string; name: string; identity: string; createdAt: string }
interface WaitOpts { wait?: boolean; timeout: string; events?: boolean }
interface ReconcileRecord { id: string; replica: string; trigger: string; startedAt: string; finishedAt: string | null; found: string[]; changed: string[]; error: string | null }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

function version(): string {
  for (const p of [path.join(__dirname, '../../../package.json'), path.join(__dirname, '../../package.json')]) {
    if (existsSync(p)) {
      const v = (JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string });
      if (v.name === 'skyweave' && v.version) return v.version;
    }
  }
  return '0.0.0';
}

function displayPath(p: string, env: NodeJS.ProcessEnv): string {
  return env.HOME && p.startsWith(env.HOME) ? `~${p.slice(env.HOME.length)}` : p;
}

/** Stores one cloud's credentials (POST); with --replace, a 409 `credentials-exist` becomes a PUT of the existing set. */
async function storeCredentials(a: Api, io: Io, cloud: Cloud, credentials: object, o: CredOpts): Promise<void> {
  const body = { cloud, ...(o.name ? { name: o.name } : {}), credentials };
  let stored: CredentialView;
  let verb = 'Added';
  try {
    stored = await a.request<CredentialView>('POST', '/v1/cloud-credentials', { body });
  } catch (e) {
    if (!(o.replace && e instanceof ApiError && e.status === 409 && e.problem?.type?.endsWith('/credentials-exist'))) throw e;
    const existing = (await a.get<{ items: CredentialView[] }>('/v1/cloud-credentials')).items.find((c) => c.cloud === cloud);
    if (!existing) throw e;
    stored = await a.request<CredentialView>('PUT', `/v1/cloud-credentials/${existing.id}`, { body });
    verb = 'Replaced';
  }
  print(outputFormat(o.output), stored, () => `${verb} ${cloud} credentials ${stored.id} (${stored.identity}), checked against the cloud`, io.out);
}

/** Every live cluster of the organisation (all pages). */
async function listClusters(a: Api): Promise<ClusterSummary[]> {
  const items: ClusterSummary[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = await a.get<{ items: ClusterSummary[]; total: number }>('/v1/clusters', { limit: 200, offset });
    items.push(...page.items);
    if (page.items.length < 200 || items.length >= page.total) return items;
  }
}

/** A cluster id from an id or a name. @throws CliError exit 4 when no live cluster has that name. */
async function resolveCluster(a: Api, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const c = (await listClusters(a)).find((x) => x.name === ref);
  if (!c) throw new CliError(`no cluster named ${ref}`, ExitCode.NotFound);
  return c.id;
}

/** Ready and nothing under way: every network Ready, every node Joined or Terminated. */
function settled(v: ClusterView): boolean {
  return v.networks.every((n) => n.phase === 'Ready') && v.nodes.every((n) => n.phase === 'Joined' || n.phase === 'Terminated');
}

function summary(v: ClusterView): string {
  const live = v.nodes.filter((n) => n.phase !== 'Terminated');
  const masters = live.filter((n) => n.role === 'master').length;
  return `${masters} master(s), ${live.length - masters} worker(s) on ${v.spec.clouds.join(', ')}`;
}

function nodesTable(list: NodeView[]): string {
  return table(['name', 'id', 'role', 'cloud', 'type', 'phase', 'private-ip', 'public-ip', 'version', 'message'],
    list.map((n) => [n.name, n.id, n.role, n.cloud, n.instanceType, n.removalRequested && n.phase !== 'Terminated' ? `${n.phase} (removing)` : n.phase, n.privateIp, n.publicIp, n.kubernetesVersion, n.waiting ? `waiting: ${n.waiting.reason}` : n.message]));
}

const eventTime = (e: ClusterEvent) => new Date(e.createdAt).toISOString().slice(0, 19).replace('T', ' ');
function eventsTable(list: ClusterEvent[]): string {
  return table(['time', 'type', 'reason', 'object', 'message'], list.map((e) => [eventTime(e), e.type, e.reason, e.object, e.message]));
}
/** One line of `events --follow`: columns of fixed width (rows come one by one). */
function streamRow(c: string[]): string {
  return [c[0].padEnd(19), c[1].padEnd(7), c[2].padEnd(28), c[3].padEnd(28), c[4]].join('   ');
}

function clusterTable(v: ClusterView): string {
  const live = v.nodes.filter((n) => n.phase !== 'Terminated');
  return [
    `Name:        ${v.name}`,
    `ID:          ${v.id}`,
    `Phase:       ${v.phase}`,
    `Region:      ${v.spec.region}`,
    `Clouds:      ${v.spec.clouds.join(', ')}`,
    `Kubernetes:  ${v.spec.kubernetesVersion}`,
    `Nodes:       ${summary(v)}`,
    `Created:     ${v.createdAt} (${age(v.createdAt)} ago)`,
    '',
    'CONDITIONS',
    table(['type', 'status', 'reason', 'message'], v.conditions.map((c) => [c.type, c.status, c.reason, c.message])),
    '',
    'NETWORKS',
    table(['cloud', 'phase', 'region', 'vpc-cidr', 'subnet-cidr', 'message'], v.networks.map((n) => [n.cloud, n.phase, n.region, n.vpcCidr, n.subnetCidr, n.waiting ? `waiting: ${n.waiting.reason}` : n.message])),
    '',
    'NODES',
    nodesTable(live),
  ].join('\n');
}

/**
 * The plan `cluster create` shows before creating (POST /v1/clusters/plan, the same body): written to `write` as
 * {@link planTable}'s table. An API without planning (404/405) is said in one line and the create goes on; a request
 * the API refuses (4xx) is not shown, as the create that follows gets the same refusal with its own path.
 * @returns the plan, or undefined when none was shown. @throws ApiError for a 5xx or a transport failure.
 */
async function planBeforeCreate(a: Api, body: ClusterRequest, write: (s: string) => void): Promise<ClusterPlan | undefined> {
  try {
    const plan = await a.request<ClusterPlan>('POST', '/v1/clusters/plan', { body });
    write(`${planTable(plan)}\n`);
    return plan;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    if (e.status === 404 || e.status === 405) write(`(this Skyweave API has no cluster planning: no plan shown)\n`);
    return undefined;
  }
}

/**
 * A plan as a person reads it: per cloud its region, network ranges, VMs and cost (USD per hour and per 730-hour
 * month, with the price list's source), the total, the worst cross-cloud latency against the budget, and warnings.
 */
export function planTable(p: ClusterPlan): string {
  const usd = (x: number | null, digits = 4) => (x === null ? 'unknown' : `$${x.toFixed(digits)}`);
  const rows = p.clouds.map((c) => [
    c.cloud, `${c.region} (${c.zone})`, c.network.vpcCidr ?? '(at create)', c.network.subnetCidr ?? '',
    c.nodes.map((n) => `${n.count}× ${n.instanceType} ${n.role}`).join(', ') || '-', usd(c.cost.usdPerHour), usd(c.cost.usdPerMonth, 2),
    c.cost.price ? `${c.cost.price.source}${c.cost.price.stale ? ' (stale)' : ''}` : c.cost.reason ?? '',
  ]);
  rows.push(['total', '', '', '', '', usd(p.cost.usdPerHour), usd(p.cost.usdPerMonth, 2), '']);
  const lines = [
    `plan for ${p.name} in ${p.region.name} (nothing is created)`,
    table(['CLOUD', 'REGION', 'VPC', 'SUBNET', 'NODES', '$/HOUR', '$/MONTH', 'PRICES'], rows).trimEnd(),
    p.latency.worst ? `worst cross-cloud latency: ${p.latency.worst.pair} ${p.latency.worst.ms} ms (budget ${p.latency.budgetMs} ms${p.latency.withinBudget ? '' : ', EXCEEDED'})` : 'one cloud: no cross-cloud latency',
    ...p.warnings.map((w) => `warning: ${w.message}`),
  ];
  return lines.join('\n');
}

