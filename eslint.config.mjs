// Lint that catches real bugs (floating promises, non-exhaustive switches) and enforces module boundaries by Nx tags.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

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
      '@nx/enforce-module-boundaries': ['error', {
        // retry.ts is the platform's one retry policy (cockatiel only, no SDK): node-agent takes PLATFORM_CALL from it
        allow: ['@skyweave/cloud-adapters/src/testing/contract-suite', '@skyweave/cloud-adapters/src/retry'],
        depConstraints: [
          { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
          { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
          { sourceTag: 'type:cloud', onlyDependOnLibsWithTags: ['type:domain', 'type:cloud'] },
          { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:cloud', 'type:data'] },
          { sourceTag: 'type:service-kit', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:cloud', 'type:data'] },
          { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:cloud', 'type:data', 'type:service-kit'] },
          { sourceTag: 'type:agent', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
          { sourceTag: 'type:emulator', onlyDependOnLibsWithTags: ['type:domain', 'type:cloud'] },
        ],
      }],
    },
  },
  {
    // CommonJS scripts (tools/*.js) use require
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
