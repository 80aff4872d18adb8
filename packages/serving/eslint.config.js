import { createEslintConfig } from '@vql/eslint-config';

export default createEslintConfig();
