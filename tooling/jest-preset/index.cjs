// Shared jest config: tests run from TypeScript sources (no build first), sibling
// @vql packages resolve to their src, and the node environment keeps tfjs's
// typed-array checks working.
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..');

// Dependencies that ship ES modules only (@vql/data's Parquet reader and its writer for test
// fixtures): jest runs CommonJS, so their files go through swc like our sources. Every package
// whose tests import @vql/data needs this, hence here.
const esmOnly = ['hyparquet', 'hyparquet-writer', 'hyparquet-compressors', 'hysnappy'];

/** @param {string} packageDir @param {import('jest').Config} [overrides] */
function createJestConfig(packageDir, overrides = {}) {
  return {
    rootDir: packageDir,
    testEnvironment: 'node',
    roots: ['<rootDir>/src'],
    testMatch: ['**/*.test.ts'],
    moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
    transform: {
      '^.+\\.ts$': [
        require.resolve('@swc/jest'),
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
        },
      ],
      [`/node_modules/(${esmOnly.join('|')})/.+\\.js$`]: [
        require.resolve('@swc/jest'),
        { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
    },
    transformIgnorePatterns: [`^(?!.*/node_modules/(${esmOnly.join('|')})/).*/node_modules/`],
    moduleNameMapper: {
      '^@vql/([a-z0-9-]+)$': path.join(repoRoot, 'packages/$1/src/index.ts'),
      '^@vql/([a-z0-9-]+)/([a-z0-9-]+)$': path.join(repoRoot, 'packages/$1/src/$2/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testTimeout: 120000,
    ...overrides,
  };
}

module.exports = { createJestConfig, repoRoot };
