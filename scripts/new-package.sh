#!/usr/bin/env bash
# Scaffolds packages/<name> with the shared package.json shape, tsconfigs, jest and eslint configs.
# Usage: scripts/new-package.sh <name> "<description>"
set -euo pipefail
name=$1; desc=$2
dir="packages/$name"
mkdir -p "$dir/src"
[ -f "$dir/package.json" ] || cat > "$dir/package.json" <<JSON
{
  "name": "@vql/$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "sideEffects": false,
  "engines": { "node": ">=20" },
  "exports": {
    ".": {
      "@vql/source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "import": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "types": "./dist/index.d.ts",
  "files": ["dist", "!dist/**/*.test.*", "README.md"],
  "scripts": {
    "build": "rm -rf dist && tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json",
    "lint": "eslint src",
    "test": "jest"
  }
}
JSON
cat > "$dir/tsconfig.json" <<'JSON'
{
  "extends": "@vql/tsconfig/base.json",
  "include": ["src", "bench"]
}
JSON
cat > "$dir/tsconfig.build.json" <<'JSON'
{
  "extends": "@vql/tsconfig/build.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "exclude": ["src/**/*.test.ts"]
}
JSON
cat > "$dir/jest.config.cjs" <<'JS'
module.exports = require('@vql/jest-preset').createJestConfig(__dirname);
JS
cat > "$dir/eslint.config.js" <<'JS'
import { createEslintConfig } from '@vql/eslint-config';

export default createEslintConfig();
JS
