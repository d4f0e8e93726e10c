import { describe, expect, it } from 'vitest';
import { parseClusterUrl } from './redis-connection.js';
import { requestStreamKey, requestStreamKeys, deadLetterStreamKey } from './redis-streams.keys.js';

describe('parseClusterUrl', () => {
  it('reads the seed nodes and the credentials of a redis+cluster:// URL', () => {
    expect(parseClusterUrl('redis+cluster://u%40x:p%3Aw@10.0.0.1:7000,redis-1:7001,[::1]:7002')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-1', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      redisOptions: { username: 'u@x', password: 'p:w' },
    });
    expect(parseClusterUrl('rediss+cluster://:secret@redis:6379/')).toEqual({
      nodes: [{ host: 'redis', port: 6379 }],
      redisOptions: { password: 'secret', tls: {} },
    });
  });

  it('leaves single-server URLs and options alone, and refuses a bad port', () => {
    expect(parseClusterUrl('redis://127.0.0.1:6379')).toBeUndefined();
    expect(parseClusterUrl({ host: 'x' })).toBeUndefined();
    expect(() => parseClusterUrl('redis+cluster://a:70000')).toThrow(/cluster nodes/);
  });
});

describe('request stream keys', () => {
  it('keep the single-stream name, and give each shard a hash tag of its own under the prefix', () => {
    expect(requestStreamKey('p:', 'chats')).toBe('p:rpc:chats');
    expect(requestStreamKeys('p:', 'chats', 3)).toEqual([
      'p:rpc:chats:{p:chats:0}',
      'p:rpc:chats:{p:chats:1}',
      'p:rpc:chats:{p:chats:2}',
    ]);
    // The dead letters of a shard share its hash tag, so its slot.
    expect(deadLetterStreamKey('p:', 'chats', 1, 3)).toBe('p:rpc:chats:{p:chats:1}:dead');
  });
});
