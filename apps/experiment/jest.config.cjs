const { createJestConfig } = require('@vql/jest-preset');

// hyparquet (and its writer / decompressors) ship ES modules only; jest runs CommonJS, so
// those files go through the same swc transform as our sources.
const esmOnly = ['hyparquet', 'hyparquet-writer', 'hyparquet-compressors', 'hysnappy'];
const base = createJestConfig(__dirname);
module.exports = {
  ...base,
  transform: {
    ...base.transform,
    [`/node_modules/(${esmOnly.join('|')})/.+\\.js$`]: [
      require.resolve('@swc/jest'),
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`^(?!.*/node_modules/(${esmOnly.join('|')})/).*/node_modules/`],
};
