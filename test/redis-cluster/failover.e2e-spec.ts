import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatLoad,
  Cluster,
  describeReport,
  PrivateRedisCluster,
  sleep,
  waitFor,
  type ClusterNodeInfo,
} from '@parley/testing';

// Parley on a real Redis Cluster: 3 masters and 3 replicas (redis-server on loopback ports, joined with
// `redis-cli --cluster create`), 2 gateways and 2 chats services. The RPC request streams are spread over the
// masters by their hash tags; a master is killed with SIGKILL under load, its replica takes over, and nothing
// acknowledged is lost or duplicated. (`npm run test:redis-cluster` also runs the scale-out, presence and fault
// suites on a cluster of their own.)
let redis: PrivateRedisCluster;
let cluster: Cluster;

beforeAll(async () => {
  redis = await new PrivateRedisCluster(3, 1).start();
  cluster = await Cluster.start({ gateways: 2, chats: 2, redisUrl: redis.url });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

/** The masters holding each of this deployment's RPC request streams (one per shard). */
function streamOwners(): Map<number, string[]> {
  const owners = new Map<number, string[]>();
  for (const node of redis.topology().filter((n) => n.role === 'master' && !n.failed)) {
    const keys = redis
      .cli(node.port, '--scan', '--pattern', `${cluster.redisPrefix}rpc:chats:{*}`)
      .split('\n')
      .filter((k) => k && !k.endsWith(':dead'));
    if (keys.length > 0) owners.set(node.port, keys);
  }
  return owners;
}

describe('Redis Cluster', () => {
  it('spreads the RPC request streams over the masters, and the apps report ready', async () => {
    await waitFor('the 8 request streams', () => [...streamOwners().values()].flat().length === 8);
    const owners = streamOwners();
    console.log(
      'request streams per master:',
      [...owners].map(([port, keys]) => `${port}: ${keys.length}`),
    );
    expect(owners.size).toBeGreaterThan(1);
    for (const app of [...cluster.gateways, ...cluster.chats]) {
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    }
  });

  it('kill -9 of a master under load: its replica is promoted, nothing acknowledged is lost or duplicated, live deliveries resume', async () => {
    const load = await ChatLoad.create(() => cluster.gateways.map((g) => g.url), 8, { ratePerUser: 8 });
    try {
      load.start();
      await sleep(2000);
      // The master with the most request streams: the RPC path, not only presence or a broadcast channel, fails.
      const [port] = [...streamOwners()].sort((a, b) => b[1].length - a[1].length)[0]!;
      redis.rememberReplicas();
      const victim = redis.topology().find((n) => n.port === port) as ClusterNodeInfo;
      const killedAt = Date.now();
      await redis.kill(port);
      const promoted = await redis.waitForPromotion(victim.id);
      const promotedAfterMs = Date.now() - killedAt;
      load.markLive();
      await waitFor(
        'live deliveries after the failover',
        () => load.users.some((u) => u.liveAfterMark > 0),
        30_000,
      );
      const resumedAfterMs = Date.now() - killedAt;
      await sleep(3000);
      await load.stop();
      await load.sync();
      await sleep(500);
      const report = await load.report(cluster.db);
      console.log(describeReport('Redis Cluster master kill -9', report));
      console.log(
        `master :${port} killed; replica :${promoted.port} promoted after ${promotedAfterMs} ms ` +
          `(cluster-node-timeout ${redis.nodeTimeoutMs} ms); live deliveries seen again after ${resumedAfterMs} ms`,
      );
      expect(report.sent).toBeGreaterThan(100);
      expect({
        lost: report.lost,
        duplicated: report.duplicated,
        unacknowledged: report.unacknowledged,
      }).toEqual({
        lost: 0,
        duplicated: 0,
        unacknowledged: 0,
      });
      expect(report.stored).toBe(report.sent);
      // Every user receives live again, not only through catch-up.
      expect(load.users.filter((u) => u.liveAfterMark > 0).length).toBeGreaterThan(load.users.length / 2);
      expect([...cluster.gateways, ...cluster.chats].every((p) => p.alive)).toBe(true);
    } finally {
      load.close();
    }
  });
});
