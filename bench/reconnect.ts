// Reconnect: clients with reconnection on, their gateway restarted (SIGTERM, drain, a new one on the same port):
// how long until every client is back in its conversation.
import { freePort } from '../tools/lib/ports.js';
import { waitFor } from '../tools/lib/wait.js';
import { connectUsers, now, Worker } from './lib.js';
import type { BenchResults } from './results.js';
import { startParley } from './systems.js';

/** How long the reconnect measurement waits for every client to be back. */
const RECONNECT_WAIT_MS = 120_000;

export async function reconnect(clients: number): Promise<NonNullable<BenchResults['reconnect']>> {
  console.log(`\n[reconnect] ${clients} clients, gateway restarted`);
  const port = await freePort();
  const sys = await startParley({ gateways: 1, chats: 1, gatewayPort: port });
  const cluster = sys.cluster;
  const workers = [new Worker(), new Worker()];
  try {
    const users = await sys.users(clients / 2, 'rc');
    const { connected } = await connectUsers(workers, users, true, true);
    const stoppedAt = now();
    await cluster.gateways[0]!.stop('SIGTERM');
    const downMs = now() - stoppedAt;
    cluster.gateways.pop();
    await cluster.startGateway({ PORT: String(port) });
    const readyAt = now();
    let rejoined = 0;
    let last = 0;
    let events: Record<string, number> = {};
    let complete = true;
    await waitFor(
      'every client to reconnect and re-join',
      async () => {
        const counts = await Promise.all(workers.map((w) => w.ask({ type: 'count' }, 'count')));
        const times = counts.flatMap((c) => c.reconnectedAt).filter((t) => t > 0);
        rejoined = times.length;
        last = Math.max(0, ...times);
        events = {};
        for (const [k, v] of counts.flatMap((c) => Object.entries(c.events)))
          events[k] = (events[k] ?? 0) + v;
        return rejoined >= connected;
      },
      RECONNECT_WAIT_MS,
      250,
    ).catch(() => {
      complete = false; // reported as "n of m", with the errors the clients saw
    });
    const result = {
      clients: connected,
      rejoined,
      complete,
      events,
      drainSeconds: downMs / 1000,
      secondsAfterReady: (last - readyAt) / 1000,
      secondsAfterStop: (last - stoppedAt) / 1000,
    };
    console.log(
      `  ${rejoined}/${connected} re-joined${complete ? '' : ` (gave up waiting after ${RECONNECT_WAIT_MS / 1000} s; client events: ${JSON.stringify(events)})`} ${result.secondsAfterReady.toFixed(1)} s after the new gateway was ready (${result.secondsAfterStop.toFixed(1)} s after SIGTERM)`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await sys.stop();
  }
}
