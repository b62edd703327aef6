// Lint that catches real bugs (floating promises, non-exhaustive switches) and enforces module boundaries by Nx tags.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const APPS = ['api-gateway', 'reconciler', 'network-provisioner', 'node-provisioner', 'node-agent', 'cloud-emulator', 'kube-sandbox', 'kube-watcher'];

/** @nx/enforce-module-boundaries with the project tags' constraints; `allow`: extra import paths exempt from the checks. */
function boundaries(allow) {
  return ['error', {
    // retry.ts is the platform's one retry policy (cockatiel only, no SDK): node-agent and messaging take theirs from it
    allow: ['@skyweave/cloud-adapters/src/testing/contract-suite', '@skyweave/cloud-adapters/src/retry', ...allow],
    depConstraints: [
      // the domain is plain TypeScript: no framework, ORM or messaging client
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*'] },
      { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
      // cluster bootstrap rendering (PKI, kubeadm, kubeconfig, cloud-init): pure functions over domain and contract types
      { sourceTag: 'type:bootstrap', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*'] },
      // the sandbox cluster's scheduler, controllers and kubelets: plain TypeScript over its own KubeObjects port
      { sourceTag: 'type:kube-sim', onlyDependOnLibsWithTags: ['type:kube-sim'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*'] },
      { sourceTag: 'type:cloud', onlyDependOnLibsWithTags: ['type:domain', 'type:cloud'] },
      // the autoscaler's decisions (packing, prices, scale-down simulation): pure functions over domain and kube-sim's scheduling rules
      { sourceTag: 'type:autoscaling', onlyDependOnLibsWithTags: ['type:domain', 'type:kube-sim', 'type:autoscaling'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*'] },
      // the informer-based view of every cluster's Kubernetes API (hosted by kube-watcher and by the autoscaler)
      { sourceTag: 'type:kube-view', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:bootstrap', 'type:cloud', 'type:data', 'type:service-kit', 'type:kube-sim', 'type:kube-view'] },
      { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:cloud', 'type:data'] },
      { sourceTag: 'type:service-kit', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:cloud', 'type:data'] },
      // services may use kube-sim's pure Kubernetes rules (quantities, pod requests): kube-watcher does, rather than its own copy
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:bootstrap', 'type:cloud', 'type:data', 'type:service-kit', 'type:kube-sim', 'type:kube-view', 'type:autoscaling'] },
      { sourceTag: 'type:agent', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
      // the sandbox cloud runs its clusters' control planes (kube-sandbox) when their VMs run kubeadm
      { sourceTag: 'type:emulator', onlyDependOnLibsWithTags: ['type:domain', 'type:cloud', 'type:kube-sim', 'type:kube-sandbox', 'type:bootstrap'] },
      // the sandbox cluster's Kubernetes API server (a product component run on sandbox masters): plain Node, no NestJS
      // (its sandbox kubeadm makes the certificates kubeadm would with the product's own PKI code)
      { sourceTag: 'type:kube-sandbox', onlyDependOnLibsWithTags: ['type:domain', 'type:kube-sim', 'type:bootstrap'], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*'] },
      // the `skyweave` CLI (apps/cli) talks to the platform only through the public API over HTTP: no workspace library at all
      { sourceTag: 'type:cli', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*', 'pg', '@aws-sdk/*', '@azure/*', '@google-cloud/*'] },
      // the web console (apps/console) runs in a browser and talks to the platform only through the public API, as the CLI does
      { sourceTag: 'type:console', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@nestjs/*', 'typeorm', '@nats-io/*', 'pg', '@aws-sdk/*', '@azure/*', '@google-cloud/*', 'node:*'] },
      // tools/: build script, stack launcher, demo, chaos — libraries only, never an app's source
      { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:bootstrap', 'type:cloud', 'type:data', 'type:service-kit'] },
      // test/ (integration, end-to-end) and bench/ may reach into everything, apps included (see the test/bench block)
      { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:bootstrap', 'type:cloud', 'type:data', 'type:service-kit', 'type:service', 'type:emulator', 'type:kube-sim', 'type:kube-sandbox', 'type:agent', 'type:tools', 'type:kube-view', 'type:autoscaling'] },
      { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:bootstrap', 'type:cloud', 'type:data', 'type:service-kit', 'type:service', 'type:emulator', 'type:kube-sim', 'type:agent', 'type:tools', 'type:bench', 'type:kube-sandbox', 'type:kube-view', 'type:autoscaling', 'type:cli'] },
    ],
  }];
}

const REPOSITORIES = 'use a repository of @skyweave/persistence (libs/persistence/src/repositories): it scopes every query by organisation';
/** `x.query(…)`: raw SQL (allowed only where apiperf is rewriting, see the exception below). */
const QUERY_CALL = "CallExpression[callee.property.name='query']";
/** Ways an app could reach PostgreSQL without a repository. */
const DIRECT_QUERIES = [
  { selector: "CallExpression[callee.property.name='getRepository']", message: `getRepository: ${REPOSITORIES}` },
  { selector: QUERY_CALL, message: `.query(): ${REPOSITORIES}` },
  { selector: "CallExpression[callee.property.name='createQueryBuilder']", message: `createQueryBuilder: ${REPOSITORIES}` },
  { selector: "MemberExpression[property.name='manager']", message: `a DataSource's manager: ${REPOSITORIES}` },
  // an EntityManager (em / manager / entityManager) or DataSource (ds / dataSource) used for anything but a transaction
  {
    selector: "CallExpression[callee.object.name=/^(em|manager|entityManager|ds|dataSource)$/][callee.property.name=/^(find|findOne|findBy|findOneBy|findAndCount|findOneOrFail|findOneByOrFail|count|countBy|exists|existsBy|save|insert|update|upsert|delete|remove|softDelete|increment|decrement|sql|createQueryRunner)$/]",
    message: `direct EntityManager / DataSource access: ${REPOSITORIES}`,
  },
];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '.skyweave/**', '.nx/**', 'jest.config.js', 'tools/run-ts.js', 'eslint.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-namespace': 'off',
      eqeqeq: ['error', 'always'],
      '@nx/enforce-module-boundaries': boundaries([]),
    },
  },
  {
    // the web console: browser TypeScript and JSX, typed by its own tsconfig (DOM, react-jsx)
    files: ['apps/console/**/*.ts', 'apps/console/**/*.tsx', 'apps/console/**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      '@nx/enforce-module-boundaries': boundaries([]),
    },
  },
  {
    // CommonJS scripts (tools/*.js) use require
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // tests and benchmarks drive the apps' own classes in-process (an app is otherwise never imported)
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(APPS.map((a) => `@skyweave/${a}/src/**`)) },
  },
  {
    // the PKI spec seals with the platform's real SecretBox (the library itself only names the Sealer shape)
    files: ['libs/bootstrap/src/**/*.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@skyweave/persistence']) },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // Services reach PostgreSQL only through the organisation-scoped repositories (libs/persistence/src/repositories):
    // every query there takes an OrgScope (or a greppable systemScope) first. The cloud emulator has its own store.
    files: APPS.filter((a) => a !== 'cloud-emulator').map((a) => `apps/${a}/src/**/*.ts`),
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', ...DIRECT_QUERIES] },
  },
];
