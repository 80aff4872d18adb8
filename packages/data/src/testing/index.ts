export { tinySyntheticConfig, smallSyntheticConfig, ciSyntheticConfig, tinyCtrBatch } from './presets.js';
export { writeFixture } from './fixtures.js';
