import { afterEach, describe, expect, it } from 'vitest';
import type { Conversation } from '@parley/contracts';
import {
  api,
  ChatLoad,
  Cluster,
  connect,
  connectRecorded,
  describeReport,
  PrivatePostgres,
  PrivateRedis,
  registerUser,
  request,
  sleep,
  waitFor,
  type LoadReport,
} from '@parley/testing';

// Faults under load, on real processes and real servers. Each scenario runs socket.io-client users spread over 2
// gateways (2–3 chats services), prints its counts, and asserts that nothing acknowledged is lost or duplicated.
// Redis and Postgres are restarted for real: private servers on free ports, so no other test is disturbed.
// `npm run test:soak` (PARLEY_SOAK_SECONDS=60) stretches each phase of load before and after a fault.
const SOAK_MS = Number(process.env.PARLEY_SOAK_SECONDS ?? 0) * 1000;
const phase = (ms: number) => sleep(Math.max(ms, SOAK_MS));

// `npm run test:redis-cluster` runs this file again with every deployment on a Redis Cluster; the faults that do not
// touch Redis's part (a private single Redis restarted, Postgres, a gateway's own buffers) are not repeated there.
const onRedisCluster = process.env.PARLEY_TEST_REDIS_CLUSTER === '1';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function cluster(opts: Parameters<typeof Cluster.start>[0]): Promise<Cluster> {
  const c = await Cluster.start(opts);
  cleanups.push(() => c.stop());
  return c;
}

async function load(c: Cluster, pairs = 8, ratePerUser = 8, aligned = false): Promise<ChatLoad> {
  const l = await ChatLoad.create(() => c.gateways.filter((g) => g.alive).map((g) => g.url), pairs, {
    ratePerUser,
    aligned,
  });
  cleanups.push(async () => l.close());
  return l;
}

async function finish(l: ChatLoad, c: Cluster, name: string): Promise<LoadReport> {
  await l.stop();
  await l.sync();
  await sleep(500);
  const report = await l.report(c.db);
  console.log(describeReport(name, report));
  expect(report.sent).toBeGreaterThan(100);
  expect({ lost: report.lost, duplicated: report.duplicated, unacknowledged: report.unacknowledged }).toEqual(
    {
      lost: 0,
      duplicated: 0,
      unacknowledged: 0,
    },
  );
  expect(report.acknowledged).toBe(report.sent);
  expect(report.stored).toBe(report.sent);
  return report;
}

describe('faults under load', () => {
  it('kill -9 of a chats service: in-flight requests are finished by another instance or retried without duplicates', async () => {
    const c = await cluster({ gateways: 2, chats: 3 });
    const l = await load(c);
    l.start();
    await phase(2000);
    await c.chats[0]!.stop('SIGKILL');
    await phase(3000);
    await finish(l, c, 'chats kill -9');
    const claimed = await Promise.all(
      c.chats.filter((x) => x.alive).map((x) => x.metric('parley_rpc_claimed_total')),
    );
    console.log(`requests claimed from the dead instance by the survivors: ${claimed.join(' + ')}`);
  });

  it('kill -9 of a chats service and of a gateway while sends travel in batches: each stored, acknowledged and delivered once', async () => {
    const c = await cluster({ gateways: 3, chats: 3 });
    // Every user sends at the same instants, so each gateway reads several sends per turn and batches them.
    const l = await load(c, 12, 8, true);
    l.start();
    await phase(2000);
    const batched = async () => {
      const live = c.gateways.filter((g) => g.alive);
      const [sum, count] = await Promise.all([
        Promise.all(live.map((g) => g.metric('parley_rpc_send_batch_size_sum'))),
        Promise.all(live.map((g) => g.metric('parley_rpc_send_batch_size_count'))),
      ]);
      return { sends: sum.reduce((a, b) => a + b, 0), requests: count.reduce((a, b) => a + b, 0) };
    };
    const before = await batched();
    // More sends than requests: batches of two or more are in flight when the processes die.
    expect(before.sends).toBeGreaterThan(before.requests);
    await c.chats[0]!.stop('SIGKILL');
    await phase(1000);
    await c.gateways[1]!.stop('SIGKILL');
    await phase(3000);
    await finish(l, c, 'chats and gateway kill -9, batched sends');
    console.log(
      `before the kills: ${before.sends} sends in ${before.requests} requests to the chats service`,
    );
  });

  it('kill -9 of a gateway: its clients reconnect elsewhere, catch up with since_seq, get every message once; presence converges', async () => {
    const c = await cluster({ gateways: 3, chats: 2 });
    const l = await load(c);
    l.start();
    await phase(2000);
    await c.gateways[1]!.stop('SIGKILL');
    await phase(3000);
    const report = await finish(l, c, 'gateway kill -9');
    expect(report.reconnects).toBeGreaterThan(0);
    // Everyone is connected again: each user's last word about their partner is "online", whatever the gateway.
    await waitFor('presence to converge', () =>
      l.users.every((u) => l.partnerOf(u).presence.get(u.auth.user.id) !== 'offline'),
    );
    // And when one leaves for good, the partner hears it (from whichever instance).
    const leaver = l.users[0]!;
    leaver.closing = true;
    leaver.socket?.close();
    await waitFor(
      'user:offline after leaving',
      () => l.partnerOf(leaver).presence.get(leaver.auth.user.id) === 'offline',
      40_000,
    );
  });

  it.skipIf(onRedisCluster)(
    'Redis restarted: sends fail clearly while it is down, the apps reconnect by themselves, nothing acknowledged is lost',
    async () => {
      const redis = await new PrivateRedis().start();
      cleanups.push(() => redis.stop());
      const c = await cluster({ gateways: 2, chats: 2, redisUrl: redis.url });
      const pids = [...c.gateways, ...c.chats].map((p) => p.proc.pid);
      const l = await load(c);
      l.start();
      await phase(2000);
      await redis.stop();
      await sleep(2000);
      const errorsWhileDown = l.users.map((u) => u.lastError).filter(Boolean);
      await redis.start();
      await waitFor(
        'every instance ready again',
        async () => {
          const ready = await Promise.all(
            [...c.gateways, ...c.chats].map((p) => fetch(`${p.url}/health/ready`).then((r) => r.ok)),
          );
          return ready.every(Boolean);
        },
        30_000,
        200,
      );
      l.markLive();
      await phase(3000);
      const report = await finish(l, c, 'Redis restart');
      console.log(`errors seen while Redis was down: ${[...new Set(errorsWhileDown)].join(' | ')}`);
      // Clear errors only: Redis is down, or (a socket whose send waits for a reply that Redis lost holds its later
      // sends behind it) that socket's cap on events in flight answers at once.
      expect(
        errorsWhileDown.every((e) =>
          /Redis is unreachable|No reply to|unavailable|Service busy, retry later/.test(e!),
        ),
      ).toBe(true);
      expect([...c.gateways, ...c.chats].map((p) => p.proc.pid)).toEqual(pids); // nobody restarted an app
      expect([...c.gateways, ...c.chats].every((p) => p.alive)).toBe(true);
      // Live delivery across instances works again (the adapter re-subscribed), not only the catch-up.
      expect(l.users.reduce((n, u) => n + u.liveAfterMark, 0)).toBeGreaterThan(0);
      expect(report.errors).toBeGreaterThan(0);
    },
  );

  it.skipIf(onRedisCluster)(
    'Postgres crashed and restarted: sends fail clearly while it is down, work again after, nothing acknowledged is lost',
    async () => {
      const postgres = await new PrivatePostgres().init();
      cleanups.push(() => postgres.destroy());
      const c = await cluster({ gateways: 2, chats: 2, pgAdminUrl: postgres.adminUrl });
      const l = await load(c);
      l.start();
      await phase(2000);
      await postgres.stop('immediate'); // a crash: committed work must come back from the WAL
      await sleep(2000);
      const errorsWhileDown = [...new Set(l.users.map((u) => u.lastError).filter(Boolean))];
      const readiness = await fetch(`${c.chats[0]!.url}/health/ready`);
      await postgres.start();
      await waitFor(
        'the chats services ready again',
        async () => {
          const ready = await Promise.all(
            c.chats.map((p) => fetch(`${p.url}/health/ready`).then((r) => r.ok)),
          );
          return ready.every(Boolean);
        },
        30_000,
        200,
      );
      await sleep(3000);
      await finish(l, c, 'Postgres crash + restart');
      console.log(`errors seen while Postgres was down: ${errorsWhileDown.join(' | ')}`);
      expect(readiness.status).toBe(503);
      expect(errorsWhileDown).toContain('The database is unavailable; retry later');
    },
  );

  it('SIGTERM of each app under load: a graceful drain, no error storm, nothing acknowledged lost', async () => {
    const c = await cluster({ gateways: 3, chats: 3 });
    const l = await load(c);
    l.start();
    await phase(2000);
    const chatsExit = c.chats[0]!.stop('SIGTERM');
    await sleep(1500);
    const errorsBeforeGateway = l.users.reduce((n, u) => n + u.errors, 0);
    const gatewayExit = c.gateways[1]!.stop('SIGTERM');
    await sleep(3000);
    expect(await chatsExit).toBe(0);
    expect(await gatewayExit).toBe(0);
    const report = await finish(l, c, 'SIGTERM chats + gateway');
    // A drained chats instance finishes what it took: no client saw an error from it.
    expect(errorsBeforeGateway).toBe(0);
    // A drained gateway can lose only the acks in flight when it closed its sockets, each retried once.
    expect(report.errors).toBeLessThanOrEqual(l.users.length * 2);
  });

  it.skipIf(onRedisCluster)(
    'slow consumer: a client that stops reading is dropped instead of growing the gateway’s memory; others are unaffected',
    async () => {
      const c = await cluster({
        gateways: 1,
        chats: 1,
        gatewayEnv: {
          SOCKET_MAX_BUFFERED_PACKETS: '200',
          RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
          RATE_LIMIT_MESSAGES_BURST: '100000',
          SOCKET_MAX_IN_FLIGHT: '1000',
        },
      });
      const gw = c.gateways[0]!;
      const [alice, bob] = await Promise.all([registerUser(gw.url, 'slowA'), registerUser(gw.url, 'slowB')]);
      const conv = (
        await api<Conversation>(gw.url, 'POST', '/api/chats/conversations', {
          token: alice.tokens.access,
          body: { receiver_id: bob.user.id },
        })
      ).body;
      const sender = await connect(gw.url, { token: alice.tokens.access });
      const healthy = await connectRecorded(gw.url, { token: bob.tokens.access });
      const stalled = await connect(gw.url, { token: bob.tokens.access });
      for (const s of [healthy.socket, stalled])
        await request(s, 'join-conversation', { conversationId: conv.id, userId: bob.user.id });
      cleanups.push(async () => [sender, healthy.socket, stalled].forEach((s) => s.close()));

      // The stalled client stops reading its TCP socket: what the gateway writes piles up on the gateway's side.
      const engine = (
        stalled as unknown as { io: { engine: { transport: { ws: { _socket: { pause(): void } } } } } }
      ).io.engine;
      engine.transport.ws._socket.pause();
      const rssBefore = await gw.metric('process_resident_memory_bytes');
      const content = 'x'.repeat(3000);
      const total = 2000;
      for (let i = 0; i < total; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, k) =>
            request(
              sender,
              'send-message',
              {
                sender_id: alice.user.id,
                conversation_id: conv.id,
                message_type: 'text',
                content: `${i + k} ${content}`,
              },
              30_000,
            ),
          ),
        );
      }
      await waitFor(
        'the stalled socket to be dropped',
        async () => (await gw.metric('parley_slow_consumers_dropped_total')) === 1,
        30_000,
      );
      await healthy.wait('receive-message', total, 30_000);
      const rssAfter = await gw.metric('process_resident_memory_bytes');
      console.log(
        `slow consumer: ${total} messages of ${content.length} B flooded; stalled socket dropped; gateway RSS ` +
          `${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(await gw.metric('parley_sockets_connected')).toBe(2); // the sender and the healthy one
      expect(healthy.of('receive-message')).toHaveLength(total);
      expect(healthy.socket.connected).toBe(true);
    },
  );
});
