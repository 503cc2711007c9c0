import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'admin-ui/dist/', 'admin-ui/.dist-*/', 'test-results/', 'playwright-report/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['server/src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The contract as code runs in browsers too (the admin UI, the client SDK): no Node APIs.
    files: ['protocol/**/*.ts'],
    ignores: ['protocol/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['Buffer', 'process', 'global', 'require', '__dirname', '__filename', 'setImmediate'].map((name) => ({ name, message: 'protocol/ runs in browsers too' }))],
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'protocol/ runs in browsers too' }] }],
    },
  },
  {
    // The admin UI: browser code that never turns a string into HTML (SPEC §6).
    files: ['admin-ui/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'srcdoc'].map((property) => ({
          property,
          message: 'Build DOM with h() from dom.ts: text users or publishers supplied is rendered as text, never as HTML.',
        })),
        { object: 'document', property: 'write', message: 'Build DOM with h() from dom.ts.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='setAttribute'][arguments.0.value=/^(on|style$|href$|src$)/]",
          message: 'No inline handlers, inline styles or URL attributes from data: use addEventListener, classes and fixed URLs.',
        },
      ],
    },
  },
);
