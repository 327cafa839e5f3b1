// Lint rules, including the import direction the design asks for: protocol/ depends on
// nothing, storage drivers only on the driver contract, registry/ never on http/, and
// client code never on server code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ['error', { patterns: patterns.map((group) => ({ group: [group], message: 'imports flow one way (see DESIGN.md)' })) }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/protocol/**/*.ts'], rules: { 'no-restricted-imports': restrict(['../*']) } },
  {
    files: ['src/storage/**/*.ts'],
    ignores: ['src/storage/create-driver.ts', 'src/storage/**/*.test.ts', 'src/storage/testing/**'],
    rules: { 'no-restricted-imports': restrict(['../registry/*', '../http/*', '../config/*', '../cli/*']) },
  },
  { files: ['src/registry/**/*.ts'], rules: { 'no-restricted-imports': restrict(['../http/*', '../cli/*', '../config/*']) } },
  { files: ['src/auth/**/*.ts'], rules: { 'no-restricted-imports': restrict(['../http/*', '../cli/*']) } },
  { files: ['src/http/**/*.ts'], rules: { 'no-restricted-imports': restrict(['../cli/*', '../../cli/*']) } },
  { files: ['src/client/**/*.ts'], rules: { 'no-restricted-imports': restrict(['../registry/*', '../http/*', '../storage/*', '../cli/*']) } },
  { files: ['bin/**/*.js', 'scripts/**/*.mjs', 'eslint.config.js'], languageOptions: { globals: { process: 'readonly' } } },
  // The web UI runs in the browser: browser globals, and nothing from node: or the server.
  {
    files: ['src/ui/app/**/*.ts'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'navigator', 'sessionStorage', 'fetch', 'Headers', 'Response', 'URL', 'URLSearchParams', 'TextEncoder', 'btoa', 'setTimeout', 'clearTimeout', 'Node', 'Event', 'MouseEvent', 'KeyboardEvent'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['src/ui/app/**/*.ts'],
    ignores: ['src/ui/app/**/*.test.ts'],
    rules: { 'no-restricted-imports': restrict(['node:*', '**/registry/*', '**/http/*', '**/storage/*', '**/auth/*', '**/config/*', '**/cli/*', '**/ui/api/*']) },
  },
);
