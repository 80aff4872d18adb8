// Test helpers other packages reuse (`@vql/cache-store/testing`): a private redis-server per test file.
// The helpers only this package's tests use are the other files of this folder, imported by path.
export { TestRedisCluster, TestRedisServer, ensureRedisServer, redisServerBinary } from './redis-server.js';
