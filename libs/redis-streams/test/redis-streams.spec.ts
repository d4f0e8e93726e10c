import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteKeys, sleep, TcpProxy, TEST_REDIS_URL, uniquePrefix, waitFor } from '@parley/testing';
import { RedisStreamsClient } from '../src/redis-streams.client.js';
import { RedisStreamsServer } from '../src/redis-streams.server.js';
import type { RedisStreamsClientOptions, RedisStreamsServerOptions } from '../src/redis-streams.options.js';
import { deadLetterStreamKey, requestStreamKey, requestStreamKeys } from '../src/redis-streams.keys.js';
import { ShardedRedisStreamsServer } from '../src/sharded-redis-streams.server.js';
import { RPC_BUSY_MESSAGE, RpcBusyError, RpcTimeoutError, RpcUnavailableError } from '../src/rpc.errors.js';
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
  opts: Partial<RedisStreamsClientOptions> = {},
): Promise<RedisStreamsClient> {
  const client = new RedisStreamsClient({ redis, keyPrefix, service, timeoutMs, ...opts });
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

const call = <T>(client: RedisStreamsClient, pattern: string, data: unknown): Promise<T> =>
  firstValueFrom(client.send<T>(pattern, data));

function rawRedis(): Redis {
  const redis = new Redis(TEST_REDIS_URL);
  cleanups.push(() => redis.quit());
  return redis;
}

/** Redis's clock, epoch ms. */
async function redisTimeMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Appends a request by hand, as a client would (or as a client with another clock, or an older one, would). */
async function addRequest(
  redis: Redis,
  prefix: string,
  entryId: string,
  packet: { id: string; pattern: string; data: unknown },
  fields: Record<string, string>,
): Promise<void> {
  const stream = requestStreamKey(prefix, service);
  const extra = Object.entries(fields).flat();
  await redis.xadd(stream, entryId, 'p', JSON.stringify(packet), 'r', `${prefix}replies`, ...extra);
}

/** The replies written to the hand-made requests' reply stream, by request id. */
async function repliesById(redis: Redis, prefix: string): Promise<Map<string, Record<string, unknown>>> {
  const entries = await redis.xrange(`${prefix}replies`, '-', '+');
  const replies = entries.map(
    ([, fields]) => JSON.parse(fields[1]!) as Record<string, unknown> & { id: string },
  );
  return new Map(replies.map((r) => [r.id, r]));
}

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

  it('refuses a request at once, without sending it, while maxInFlight replies are awaited', async () => {
    const prefix = newPrefix();
    const redis = rawRedis();
    const stream = requestStreamKey(prefix, service);
    // Nobody serves, so the first two wait (until they time out).
    const client = await startClient(prefix, 1000, TEST_REDIS_URL, { maxInFlight: 2 });
    const admitted = [1, 2].map((n) => call(client, 'work', { n }).catch((e: unknown) => e));

    const refused = await call(client, 'work', { n: 3 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcBusyError);
    expect(refused).toMatchObject({ status: 503, code: 'RPC_BUSY', pattern: 'work' });
    expect((refused as Error).message).toBe('Service busy, retry later');
    expect(RPC_BUSY_MESSAGE).toBe('Service busy, retry later');
    expect(client.stats()).toMatchObject({ waiting: 2, sent: 2, busy: 1 });

    await waitFor('the admitted requests to reach Redis', async () => (await redis.xlen(stream)) === 2);
    await sleep(100);
    const written = await redis.xrange(stream, '-', '+');
    expect(written.map(([, f]) => (JSON.parse(f[1]!) as { data: { n: number } }).data.n)).toEqual([1, 2]);

    // A bound, not a latch: once the waiting requests are settled, requests are sent again.
    for (const error of await Promise.all(admitted)) expect(error).toBeInstanceOf(RpcTimeoutError);
    expect(await call(client, 'work', { n: 4 }).catch((e: unknown) => e)).toBeInstanceOf(RpcTimeoutError);
    expect(client.stats()).toMatchObject({ waiting: 0, sent: 3, busy: 1 });
  });

  it('sheds requests that waited in the stream longer than their pattern allows, without running them', async () => {
    const prefix = newPrefix();
    const ran: string[] = [];
    const server = await startServer(
      prefix,
      {
        read: async (d: { n: number }) => {
          ran.push(`read ${d.n}`);
          if (d.n === 0) await sleep(1000); // holds the only slot while the others queue
          return d.n;
        },
        write: (d: { n: number }) => {
          ran.push(`write ${d.n}`);
          return d.n;
        },
      },
      { concurrency: 1, queueLimitMs: (pattern) => (pattern === 'read' ? 200 : undefined) },
    );
    const client = await startClient(prefix, 10_000);
    const first = call(client, 'read', { n: 0 });
    await waitFor('the first read to start', () => ran.length === 1);

    const sentAt = Date.now();
    const outcomes = await Promise.all(
      [call(client, 'read', { n: 1 }), call(client, 'read', { n: 2 }), call(client, 'write', { n: 3 })].map(
        (reply) =>
          reply.then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          ),
      ),
    );
    const busy = { error: { status: 503, code: 'SERVICE_BUSY', message: 'Service busy, retry later' } };
    expect(outcomes).toEqual([busy, busy, { value: 3 }]); // writes have no limit: they wait their turn
    expect(Date.now() - sentAt).toBeLessThan(5000); // answered, not left to the client's 10 s timeout
    await expect(first).resolves.toBe(0);
    expect(ran).toEqual(['read 0', 'write 3']);
    expect(server.stats()).toMatchObject({ shed: 2, handled: 2 });
  });

  it('takes deadlines from the entry id (Redis’s clock), whatever the local clock says', async () => {
    const prefix = newPrefix();
    const redis = rawRedis();
    const handled: number[] = [];
    const server = await startServer(prefix, { work: (d: { n: number }) => handled.push(d.n) });

    // Clients write their timeout as a budget, not a deadline of their own clock (seen on a service nobody serves,
    // so that the entry is still there to read).
    const client = new RedisStreamsClient({
      redis: TEST_REDIS_URL,
      keyPrefix: prefix,
      service: 'idle',
      timeoutMs: 4321,
    });
    await client.connect();
    cleanups.push(() => client.close());
    void call(client, 'work', {}).catch(() => undefined);
    const unserved = requestStreamKey(prefix, 'idle');
    await waitFor('the request to be written', async () => (await redis.xlen(unserved)) === 1);
    const [[, sent] = ['', []]] = await redis.xrange(unserved, '-', '+');
    expect(sent).toContain('t');
    expect(sent[sent.indexOf('t') + 1]).toBe('4321');
    expect(sent).not.toContain('d');

    // This host's clock jumps an hour back: by it, every deadline below would still be far away.
    const localNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => localNow() - 3_600_000);
    cleanups.push(() => vi.restoreAllMocks());

    const now = await redisTimeMs(redis);
    const packet = (id: string, n: number) => ({ id, pattern: 'work', data: { n } });
    // Added a minute ago by Redis's clock: a 30 s budget is spent, a 2 min one is not.
    await addRequest(redis, prefix, `${now - 60_000}-1`, packet('spent', 1), { t: '30000' });
    await addRequest(redis, prefix, `${now - 60_000}-2`, packet('left', 2), { t: '120000' });
    // Older clients' absolute deadlines are still honoured.
    await addRequest(redis, prefix, '*', packet('legacy-spent', 3), { d: String(now - 1000) });
    await addRequest(redis, prefix, '*', packet('legacy-left', 4), { d: String(now + 60_000) });

    const stream = requestStreamKey(prefix, service);
    await waitFor('all four to be answered or dropped, and acknowledged', async () => {
      const [pending] = (await redis.xpending(stream, service)) as [number];
      return server.stats().expired + server.stats().handled === 4 && pending === 0;
    });
    expect(handled).toEqual([2, 4]);
    expect(server.stats()).toMatchObject({ expired: 2, handled: 2 });
    expect([...(await repliesById(redis, prefix)).keys()]).toEqual(['left', 'legacy-left']);
  });

  it('sheds a request whose time left is shorter than its handler usually takes', async () => {
    const prefix = newPrefix();
    const redis = rawRedis();
    let ran = 0;
    const server = await startServer(
      prefix,
      {
        work: async () => {
          ran++;
          await sleep(1000);
          return 'ok';
        },
      },
      { concurrency: 32 },
    );
    const client = await startClient(prefix);
    // 20 successes: enough for the server to trust its average (about 1 s).
    await Promise.all(Array.from({ length: 20 }, () => call(client, 'work', {})));

    const packet = (id: string) => ({ id, pattern: 'work', data: {} });
    await addRequest(redis, prefix, '*', packet('hopeless'), { t: '500' });
    await addRequest(redis, prefix, '*', packet('feasible'), { t: '10000' });

    await waitFor('both to be answered', async () => (await repliesById(redis, prefix)).size === 2);
    const replies = await repliesById(redis, prefix);
    expect(replies.get('hopeless')).toMatchObject({
      err: { status: 503, code: 'SERVICE_BUSY', message: 'Service busy, retry later' },
    });
    expect(replies.get('feasible')).toMatchObject({ response: 'ok' });
    expect(ran).toBe(21);
    expect(server.stats()).toMatchObject({ shed: 1, handled: 21 });
  });

  it('answers HANDLER_TIMEOUT for a handler that overruns, frees its slot and drops its late result', async () => {
    const prefix = newPrefix();
    const redis = rawRedis();
    let finished = 0;
    const server = await startServer(
      prefix,
      {
        slow: async () => {
          await sleep(1500);
          finished++;
          return 'late';
        },
        fast: () => 'ok',
      },
      { concurrency: 1, handlerTimeoutMs: 200 },
    );
    const client = await startClient(prefix);

    const error = await call(client, 'slow', {}).catch((e: unknown) => e);
    expect(error).toEqual({
      status: 504,
      code: 'HANDLER_TIMEOUT',
      message: 'The service took too long to answer; retry later',
    });
    // One slot, and the slow handler is still running: this is served only because its slot was freed.
    await expect(call(client, 'fast', {})).resolves.toBe('ok');
    expect(finished).toBe(0);

    await waitFor('the slow handler to finish', () => finished === 1);
    await sleep(100);
    expect(server.stats()).toMatchObject({ handlerTimeouts: 1, handled: 1 });
    await waitFor('both to be acknowledged and their slot free', async () => {
      const [pending] = (await redis.xpending(requestStreamKey(prefix, service), service)) as [number];
      return pending === 0 && server.stats().inFlight === 0;
    });
  });

  it('dead-letters a request that killed maxDeliveries consumers in turn, and keeps serving', async () => {
    const prefix = newPrefix();
    const redis = rawRedis();
    const stream = requestStreamKey(prefix, service);
    const fixture = fileURLToPath(new URL('./crashing-consumer.fixture.ts', import.meta.url));
    const poisoned: string[] = [];
    const consumers = ['crash-1', 'crash-2', 'crash-3'].map((name) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fixture, TEST_REDIS_URL, prefix, service, name, '300'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      cleanups.push(() => child.kill('SIGKILL'));
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (chunk.toString().includes('POISONED')) poisoned.push(name);
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      return { ready: () => output.includes('READY'), exited };
    });
    await waitFor('the crashing consumers to start', () => consumers.every((c) => c.ready()), 20_000);

    const client = await startClient(prefix, 25_000);
    const reply = call(client, 'poison', {}).catch((e: unknown) => e);
    await waitFor('the request to be written', async () => (await redis.xlen(stream)) === 1);
    const [[entryId] = ['']] = await redis.xrange(stream, '-', '+');
    // Each consumer dies of it in turn: delivered, then claimed twice once idle.
    await Promise.all(consumers.map((c) => c.exited));
    expect(poisoned).toHaveLength(3);

    const handled: string[] = [];
    const server = await startServer(
      prefix,
      {
        poison: () => handled.push('poison'),
        work: () => handled.push('work'),
      },
      { claimIdleMs: 300, maxDeliveries: 3 },
    );
    await expect(reply).resolves.toEqual({
      status: 500,
      code: 'DEAD_LETTERED',
      message: 'Internal server error',
    });

    const dead = await redis.xrange(deadLetterStreamKey(prefix, service), '-', '+');
    expect(dead).toHaveLength(1);
    const fields = Object.fromEntries(
      Array.from({ length: dead[0]![1].length / 2 }, (_, i) => [dead[0]![1][2 * i], dead[0]![1][2 * i + 1]]),
    ) as Record<string, string>;
    expect(JSON.parse(fields.p!)).toMatchObject({ pattern: 'poison', data: {} });
    expect(fields).toMatchObject({ t: '25000', entry: entryId, deliveries: '3', consumer: poisoned[2] });
    expect(fields.r).toMatch(/:reply:/);
    await waitFor('the dead letter to be acknowledged and counted', async () => {
      const [pending] = (await redis.xpending(stream, service)) as [number];
      return pending === 0 && server.stats().deadLettered === 1;
    });
    expect(server.stats()).toMatchObject({ deadLettered: 1, claimed: 0 });

    await expect(call(client, 'work', {})).resolves.toBe(1);
    expect(handled).toEqual(['work']);
  });
});

describe('sharded request streams', () => {
  it('a client spreads requests round-robin over the shards, and a server per shard answers each once', async () => {
    const prefix = newPrefix();
    const server = new ShardedRedisStreamsServer({
      redis: TEST_REDIS_URL,
      keyPrefix: prefix,
      service,
      shards: 3,
    });
    const handledBy = new Map<string, number>();
    server.addHandler('echo', async (data: unknown, ctx: unknown) => {
      const stream = (ctx as RedisStreamsContext).getStream();
      handledBy.set(stream, (handledBy.get(stream) ?? 0) + 1);
      return data;
    });
    await new Promise<void>((resolve, reject) =>
      server.listen((err?: unknown) => (err instanceof Error ? reject(err) : resolve())),
    );
    cleanups.push(() => server.close());
    const client = await startClient(prefix, 5000, TEST_REDIS_URL, { shards: 3 });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => call<number>(client, 'echo', i)));
    expect(replies).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(Object.fromEntries(handledBy)).toEqual(
      Object.fromEntries(requestStreamKeys(prefix, service, 3).map((k) => [k, 10])),
    );
    expect(server.stats().handled).toBe(30);
    expect(await server.backlog()).toEqual({ lag: 0, pending: 0 });
  });
});
