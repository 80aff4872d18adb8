// Test helpers other packages reuse (`@vql/cache-store/testing`): a private redis-server per test file.
export { TestRedisServer, ensureRedisServer, redisServerBinary } from '../redis-test-utils.js';
