import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'reports/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The core is framework-free and typed all the way through.
    files: ['core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['inversify', 'hono', 'hono/*', '@hono/*', 'ioredis', 'redis-semaphore', 'kysely', 'pg', 'pino', 'prom-client', 'zod', '../../adapters/*', '../../app/*'],
              message: 'core/ stays framework-free: depend on a port instead.',
            },
          ],
        },
      ],
    },
  },
);
