export { VqlError, isVqlError } from './vql-error.js';
export type { VqlErrorOptions } from './vql-error.js';
