// `npx tsx bench/rpc-transports.ts [calls]`: the CPU cost of one RPC, client and server side, with Parley's Redis
// Streams transport and with NestJS's built-in Redis (pub/sub) transport, on the shared Redis (127.0.0.1:6379). The
// server runs in a child process with an echo handler; calls go one at a time, then 8 at a time. What it measures is
// the transport alone (no Nest application around it, no Postgres): docs/benchmarks.md, "Where the time goes".
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClientRedis, ServerRedis, type ClientProxy, type Server } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { RedisStreamsClient, RedisStreamsServer } from '../libs/redis-streams/src/index.js';
import { TEST_REDIS_URL } from '../test/support/redis.js';

type Kind = 'streams' | 'pubsub';
const [, , first, role, prefixArg] = process.argv;
const redisUrl = TEST_REDIS_URL;
const { hostname: host, port } = new URL(redisUrl);

/** A pattern and key prefix of this run's own, so nothing else on the shared Redis sees its traffic. */
const prefix = prefixArg ?? `rpcbench${process.pid}:`;
const pattern = `${prefix}echo`;
const payload = {
  sender_id: 1,
  conversation_id: 2,
  message_type: 'text',
  content: 'x'.repeat(60),
  client_message_id: 'a-client-message-id',
};

async function serve(kind: Kind): Promise<void> {
  const server: Pick<Server, 'addHandler'> & { listen(cb: (err?: unknown) => void): unknown } =
    kind === 'streams'
      ? new RedisStreamsServer({ redis: redisUrl, keyPrefix: prefix, service: 'bench', consumer: 'c1' })
      : new ServerRedis({ host, port: Number(port) });
  server.addHandler(pattern, async (data: unknown) => ({ ok: true, data }), false);
  await new Promise<void>((resolve, reject) =>
    server.listen((err) =>
      err ? reject(err instanceof Error ? err : new Error('the server did not start')) : resolve(),
    ),
  );
  process.send!('ready');
  process.on('message', (m) => {
    if (m === 'cpu') process.send!(process.cpuUsage());
  });
}

async function measure(kind: Kind, calls: number): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [kind, 'server', prefix], {
    execArgv: ['--import', 'tsx'],
  });
  await new Promise((resolve) => child.once('message', resolve));
  const client: Pick<ClientProxy, 'connect' | 'close' | 'send'> =
    kind === 'streams'
      ? new RedisStreamsClient({ redis: redisUrl, keyPrefix: prefix, service: 'bench' })
      : new ClientRedis({ host, port: Number(port) });
  await client.connect();
  const serverCpu = () =>
    new Promise<NodeJS.CpuUsage>((resolve) => {
      child.once('message', (m) => resolve(m as NodeJS.CpuUsage));
      child.send('cpu');
    });
  const call = () => firstValueFrom(client.send(pattern, payload));
  for (let i = 0; i < 500; i++) await call(); // warm-up (JIT)
  for (const concurrency of [1, 8]) {
    const s0 = await serverCpu();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started++ < calls) await call();
      }),
    );
    const wallUs = ((performance.now() - t0) * 1000) / calls;
    const c = process.cpuUsage(c0);
    const s1 = await serverCpu();
    const clientUs = (c.user + c.system) / calls;
    const serverUs = (s1.user - s0.user + s1.system - s0.system) / calls;
    console.log(
      `${kind.padEnd(7)} ${concurrency} in flight: client ${clientUs.toFixed(0)} µs CPU per call, server ${serverUs.toFixed(0)}, wall ${wallUs.toFixed(0)} µs per call`,
    );
  }
  await client.close();
  child.kill();
}

if (role === 'server') {
  await serve(first as Kind);
} else {
  const calls = Number(first ?? 3000);
  try {
    // Alternated, as the machine's speed drifts: compare the rows of one round.
    for (const round of [1, 2]) {
      console.log(`round ${round}`);
      for (const kind of ['streams', 'pubsub'] as const) await measure(kind, calls);
    }
  } finally {
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  process.exit(0);
}
