import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteKeys, sleep, TcpProxy, TEST_REDIS_URL, uniquePrefix, waitFor } from '@parley/testing';
import { RedisStreamsClient } from '../src/redis-streams.client.js';
import { RedisStreamsServer } from '../src/redis-streams.server.js';
import type { RedisStreamsServerOptions } from '../src/redis-streams.options.js';
import { requestStreamKey } from '../src/redis-streams.keys.js';
import { RpcTimeoutError, RpcUnavailableError } from '../src/rpc.errors.js';
import type { RedisStreamsContext } from '../src/redis-streams.context.js';

const service = 'svc';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function newPrefix(): string {
  const prefix = uniquePrefix('rpc');
  cleanups.unshift(() => deleteKeys(prefix)); // runs last
  return prefix;
}

async function startServer(
  keyPrefix: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler declares its own payload type
  handlers: Record<string, (data: any, ctx: RedisStreamsContext) => unknown>,
  opts: Partial<RedisStreamsServerOptions> = {},
  redis: string = TEST_REDIS_URL,
): Promise<RedisStreamsServer> {
  const server = new RedisStreamsServer({ redis, keyPrefix, service, ...opts });
  for (const [pattern, handler] of Object.entries(handlers)) {
    server.addHandler(pattern, async (data: unknown, ctx: unknown) =>
      handler(data, ctx as RedisStreamsContext),
    );
  }
  await new Promise<void>((resolve, reject) =>
    server.listen((err?: unknown) => (err instanceof Error ? reject(err) : resolve())),
  );
  cleanups.push(() => server.close());
  return server;
}

async function startClient(
  keyPrefix: string,
  timeoutMs = 5000,
  redis: string = TEST_REDIS_URL,
): Promise<RedisStreamsClient> {
  const client = new RedisStreamsClient({ redis, keyPrefix, service, timeoutMs });
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

const call = <T>(client: RedisStreamsClient, pattern: string, data: unknown): Promise<T> =>
  firstValueFrom(client.send<T>(pattern, data));

describe('Redis Streams RPC transport (real Redis)', () => {
  it('answers a request and carries handler errors back to the caller', async () => {
    const prefix = newPrefix();
    await startServer(prefix, {
      echo: (data: { text: string }) => ({ echoed: data.text }),
      fail: () => {
        throw { status: 404, message: 'Thing not found' };
      },
    });
    const client = await startClient(prefix);
    await expect(call(client, 'echo', { text: 'hi' })).resolves.toEqual({ echoed: 'hi' });
    await expect(call(client, 'fail', {})).rejects.toMatchObject({ status: 'error' });
    await expect(call(client, 'missing', {})).rejects.toMatch(/No handler for pattern "missing"/);
  });

  it('hands each request to exactly one of 3 consumers, and spreads them over all 3', async () => {
    const prefix = newPrefix();
    const seen = new Map<number, string[]>();
    const perServer: Record<string, number> = {};
    for (const name of ['a', 'b', 'c']) {
      perServer[name] = 0;
      await startServer(
        prefix,
        {
          work: async (data: { n: number }) => {
            seen.set(data.n, [...(seen.get(data.n) ?? []), name]);
            perServer[name]!++;
            await sleep(2); // long enough that one consumer cannot take everything
            return data.n * 2;
          },
        },
        { consumer: name, concurrency: 16 },
      );
    }
    const client = await startClient(prefix);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, n) => call<number>(client, 'work', { n })),
    );

    expect(results).toEqual(Array.from({ length: 1000 }, (_, n) => n * 2));
    expect(seen.size).toBe(1000);
    expect([...seen.values()].filter((handlers) => handlers.length !== 1)).toEqual([]);
    expect(Object.values(perServer).every((count) => count > 0)).toBe(true);
    console.log('requests handled per consumer:', perServer);
  });

  it('lets another consumer claim and answer a request whose consumer was killed with SIGKILL', async () => {
    const prefix = newPrefix();
    const fixture = fileURLToPath(new URL('./hanging-consumer.fixture.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, TEST_REDIS_URL, prefix, service], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('the hanging consumer to start', () => output.includes('READY'), 20_000);

    const client = await startClient(prefix, 15_000);
    const reply = call<{ n: number; redelivered: boolean }>(client, 'work', { n: 7 });
    await waitFor('the doomed consumer to take the request', () => output.includes('STARTED 7'));
    child.kill('SIGKILL');

    const handledBy: number[] = [];
    await startServer(
      prefix,
      {
        work: (data: { n: number }, ctx) => {
          handledBy.push(data.n);
          return { n: data.n, redelivered: ctx.isRedelivery() };
        },
      },
      { claimIdleMs: 500 },
    );

    await expect(reply).resolves.toEqual({ n: 7, redelivered: true });
    expect(handledBy).toEqual([7]);
  });

  it('does not let a live consumer lose a slow request to another consumer', async () => {
    const prefix = newPrefix();
    const handled: string[] = [];
    await startServer(
      prefix,
      {
        slow: async () => {
          handled.push('slow');
          await sleep(1500); // three times claimIdleMs
          return 'done';
        },
      },
      { consumer: 'busy', claimIdleMs: 500 },
    );
    const client = await startClient(prefix);
    const reply = call(client, 'slow', {});
    await waitFor('the slow request to start', () => handled.length === 1);
    await startServer(
      prefix,
      {
        slow: () => {
          handled.push('stolen');
          return 'stolen';
        },
      },
      { consumer: 'idle', claimIdleMs: 500 },
    );
    await expect(reply).resolves.toBe('done');
    expect(handled).toEqual(['slow']);
  });

  it('fails with a clear timeout error when no consumer answers', async () => {
    const prefix = newPrefix();
    const client = await startClient(prefix, 300);
    const error = await call(client, 'nobody.home', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcTimeoutError);
    expect((error as Error).message).toBe(
      'No reply to "nobody.home" within 300 ms: no instance of the service answered',
    );
    expect(client.stats().waiting).toBe(0);
  });

  it('never runs more requests at once than a consumer’s concurrency (backpressure)', async () => {
    const prefix = newPrefix();
    let running = 0;
    let maxRunning = 0;
    await startServer(
      prefix,
      {
        work: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(20);
          running--;
          return 'ok';
        },
      },
      { concurrency: 3 },
    );
    const client = await startClient(prefix);
    const results = await Promise.all(Array.from({ length: 30 }, () => call(client, 'work', {})));
    expect(results).toHaveLength(30);
    expect(maxRunning).toBe(3);
  });

  it('keeps the request stream bounded and leaves nothing behind once requests are answered', async () => {
    const prefix = newPrefix();
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(() => redis.quit());
    const stream = requestStreamKey(prefix, service);

    // Nobody serves: requests pile up, but MAXLEN caps the stream (approximately: whole nodes of 100 entries).
    const client = new RedisStreamsClient({
      redis: TEST_REDIS_URL,
      keyPrefix: prefix,
      service,
      timeoutMs: 200,
      maxStreamLength: 100,
    });
    await client.connect();
    cleanups.push(() => client.close());
    await Promise.all(
      Array.from({ length: 2000 }, (_, n) => call(client, 'work', { n }).catch(() => undefined)),
    );
    expect(await redis.xlen(stream)).toBeLessThanOrEqual(300);

    // Served requests are acknowledged and deleted, and reply streams are trimmed by their reader.
    await redis.del(stream);
    await startServer(prefix, { work: (d: { n: number }) => d.n });
    const client2 = await startClient(prefix);
    await Promise.all(Array.from({ length: 500 }, (_, n) => call(client2, 'work', { n })));
    await waitFor('the request stream to empty', async () => (await redis.xlen(stream)) === 0);
    const pending = (await redis.xpending(stream, service)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    await waitFor('reply streams to be trimmed', async () => {
      const keys = await redis.keys(`${prefix}rpc:${service}:reply:*`);
      const lengths = await Promise.all(keys.map((k) => redis.xlen(k)));
      return lengths.every((l) => l <= 1);
    });
  });

  it('survives losing Redis: requests fail clearly while it is away and work again when it is back', async () => {
    const prefix = newPrefix();
    const proxy = await new TcpProxy('127.0.0.1', 6379).start();
    cleanups.push(() => proxy.stop());
    const viaProxy = `redis://127.0.0.1:${proxy.port}`;
    await startServer(prefix, { echo: (d: unknown) => d }, {}, viaProxy);
    const client = await startClient(prefix, 2000, viaProxy);
    await expect(call(client, 'echo', { before: true })).resolves.toEqual({ before: true });

    proxy.cut();
    const during = await call(client, 'echo', { during: true }).catch((e: unknown) => e);
    expect(during).toBeInstanceOf(RpcUnavailableError);
    expect((during as Error).message).toMatch(/^Could not send "echo": Redis is unreachable/);

    await sleep(500);
    proxy.restore();
    await waitFor(
      'RPC to work again after Redis came back',
      async () => {
        const res = await call(client, 'echo', { after: true }).catch(() => undefined);
        return res !== undefined;
      },
      15_000,
      200,
    );
  });

  it('delivers events (emit) to exactly one consumer', async () => {
    const prefix = newPrefix();
    const got: string[] = [];
    for (const name of ['a', 'b']) {
      const server = await startServer(prefix, {}, { consumer: name });
      server.addHandler('ping', async () => void got.push(name), true);
    }
    const client = await startClient(prefix);
    await firstValueFrom(client.emit('ping', {}));
    await waitFor('the event to be handled', () => got.length === 1);
    await sleep(200);
    expect(got).toHaveLength(1);
  });
});
