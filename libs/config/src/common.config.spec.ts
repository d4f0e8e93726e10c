import { describe, expect, it } from 'vitest';
import { commonConfigSchema, rpcStreamShards } from './common.config.js';
import { ConfigError, loadConfig } from './config-schema.js';

describe('REDIS_URL and RPC_STREAM_SHARDS', () => {
  it('take a single Redis or a Redis Cluster, and shard RPC 8 ways on a cluster unless told otherwise', () => {
    const single = loadConfig(commonConfigSchema, { REDIS_URL: 'rediss://:pw@redis:6380/2' });
    expect(rpcStreamShards(single)).toBe(1);
    const cluster = loadConfig(commonConfigSchema, {
      REDIS_URL: 'redis+cluster://:pw@10.0.0.1:7000,redis-b:7001,[::1]:7002',
    });
    expect(rpcStreamShards(cluster)).toBe(8);
    const told = loadConfig(commonConfigSchema, { REDIS_URL: 'redis://r:6379', RPC_STREAM_SHARDS: '4' });
    expect(rpcStreamShards(told)).toBe(4);
  });

  it('refuse what is neither', () => {
    for (const bad of [
      'http://redis:6379',
      'redis+cluster://',
      'redis+cluster://a:1,,b:2',
      'redis+cluster://a',
    ]) {
      expect(() => loadConfig(commonConfigSchema, { REDIS_URL: bad }), bad).toThrow(ConfigError);
    }
  });
});
