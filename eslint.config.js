// ESLint flat config. typescript-eslint's `recommended` set (not the type-checked one: it stays
// fast enough to run on every save); `tsc --noEmit` in `npm run lint` does the type checking.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Nothing but src/config.ts reads the environment: one typed, frozen config parsed at start.
const ENV_MESSAGE = 'Read configuration from the Config object (src/config.ts); nothing else reads process.env.';

// The web app talks to the server only through the public API (a client generated from the
// OpenAPI document), never by importing server code. A relative import leaves web/ and lands in
// the server's src/ when it climbs one level more than the file is deep inside web/, so each
// depth gets its own exact pattern (web/src/… may then use its own `src` freely).
const WEB_MAX_DEPTH = 8;
const webBoundaries = Array.from({ length: WEB_MAX_DEPTH + 1 }, (_, depth) => ({
  name: `buurtwag/web-no-server-imports-depth-${depth}`,
  files: [`web/${'*/'.repeat(depth)}*.{js,jsx,ts,tsx,mjs,cjs,mts,cts}`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\./){${depth + 1},}src(/|$)`,
            message: 'The web app must not import server code (src/): use the generated API client.',
          },
        ],
      },
    ],
  },
}));

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    'dist/',
    // a build in progress (scripts/build-server.mjs) or the build test's own
    'dist.building-*/',
    'dist-test-*/',
    'scratch/',
    'data/',
    'coverage/',
    'web/dist/',
    'web/src/api/schema.d.ts',
  ]),

  tseslint.configs.recommended,

  {
    name: 'buurtwag/base',
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  {
    name: 'buurtwag/tests',
    files: ['test/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  {
    name: 'buurtwag/src-no-process-env',
    files: ['src/**'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: ENV_MESSAGE }],
      'no-restricted-syntax': [
        'error',
        {
          // globalThis.process.env, global.process.env
          selector:
            "MemberExpression[property.name='env'][object.type='MemberExpression'][object.property.name='process']",
          message: ENV_MESSAGE,
        },
      ],
      'no-restricted-imports': [
        'error',
        { paths: ['process', 'node:process'].map((name) => ({ name, importNames: ['env'], message: ENV_MESSAGE })) },
      ],
    },
  },

  ...webBoundaries,
);
