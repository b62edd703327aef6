// One Jest config for the monorepo. Nest 12, @nats-io and @kubernetes/client-node 1.x (with its ESM dependencies) are
// ESM-only: transform them with swc (see shared/STACK.md).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' }, module: { type: 'commonjs' } }];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|file-type|@nats-io|strtok3|token-types|@tokenizer|uint8array-extras|@borewit|commander|@kubernetes/client-node|jsonpath-plus|@jsep-plugin|jsep|node-fetch|data-uri-to-buffer|fetch-blob|formdata-polyfill|openid-client|oauth4webapi|rfc4648|jose|oidc-provider)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};
module.exports = {
  // testTimeout is a global option (ignored inside projects): long enough for end-to-end journeys.
  testTimeout: 180000,
  // PostgreSQL, NATS and the Debian validators: installed and started when missing, or the command to run is named
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/src/**/*.spec.ts'] },
    { ...common, displayName: 'contract', testMatch: ['<rootDir>/apps/cloud-emulator/test/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.spec.ts', '<rootDir>/test/kube/**/*.spec.ts'] },
    // e2e tests start the services from dist/: build first when stale (test/support/build-setup.ts)
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'], globalSetup: '<rootDir>/test/support/build-setup.ts' },
  ],
};
