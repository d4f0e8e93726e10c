// Connections: growth of RSS and of the heap in use for 10,000 idle sockets on one process, Parley's one gateway
// next to the baseline server, each reading after a full garbage collection, and the time to connect them all.
// Targets (issue 15): connecting takes ≤ 2× the baseline's time; memory per idle socket ≤ 1.3× the baseline's.
import { WebSocket } from 'ws';
import { waitFor } from '../tools/lib/wait.js';
import { procStat } from './cpu.js';
import { connectUsers, now, sleep, Worker } from './lib.js';
import type { BenchResults, ConnectionResult } from './results.js';
import { startBaseline, startParley } from './systems.js';

/**
 * What a process keeps after a full garbage collection: its heap in use and its RSS. The bench opens the process's
 * inspector (SIGUSR1, which Node answers by listening on 127.0.0.1:9229) and asks it to collect garbage, then for
 * `process.memoryUsage()`. Without the collection, a reading counts whatever garbage the connecting left behind
 * (it moved the RSS ratio between 1.1× and 1.5× from run to run). One process at a time.
 */
async function memoryAfterGc(pid: number): Promise<{ rss: number; heapUsed: number }> {
  process.kill(pid, 'SIGUSR1');
  const targets = await waitFor(
    'the inspector',
    async () => {
      const res = await fetch('http://127.0.0.1:9229/json/list').catch(() => undefined);
      return res?.ok ? ((await res.json()) as { webSocketDebuggerUrl: string }[]) : undefined;
    },
    10_000,
  );
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 60_000);
      const onMessage = (raw: Buffer) => {
        const reply = JSON.parse(raw.toString()) as {
          id?: number;
          result?: { result?: { value?: unknown } };
        };
        if (reply.id !== id) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(reply);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage'); // a second pass frees what the first one's finalizers released
    const usage = await call('Runtime.evaluate', {
      expression: 'JSON.stringify({ pid: process.pid, ...process.memoryUsage() })',
      returnByValue: true,
    });
    const reading = JSON.parse(String(usage.result?.result?.value)) as { pid: number; heapUsed: number };
    // Port 9229 answered, but for this process? (Another one listening there would give its own figures.)
    if (reading.pid !== pid)
      throw new Error(`the inspector on 127.0.0.1:9229 is process ${reading.pid}'s, not ${pid}'s`);
    return { rss: procStat(pid)?.rss ?? NaN, heapUsed: reading.heapUsed };
  } finally {
    ws.close();
  }
}

export async function connections(sockets: number): Promise<NonNullable<BenchResults['connections']>> {
  console.log(`\n[connections] ${sockets} idle sockets on one server`);
  const out: NonNullable<BenchResults['connections']> = { sockets, systems: {} };
  for (const name of ['baseline', 'parley'] as const) {
    const sys = name === 'baseline' ? await startBaseline() : await startParley({ gateways: 1, chats: 1 });
    const workers = [new Worker(), new Worker()];
    try {
      // The one process the sockets land on: the baseline server, or Parley's gateway.
      const pid = Object.entries(sys.pids).find(([n]) => n === 'baseline' || n.startsWith('gateway'))![1];
      const users = await sys.users(sockets / 2, `${name}c`);
      await sleep(3000);
      const { rss: before, heapUsed: heapBefore } = await memoryAfterGc(pid);
      const t0 = now();
      const { connected, failed } = await connectUsers(workers, users, false);
      const connectMs = now() - t0;
      await sleep(3000);
      const { rss: after, heapUsed: heapAfter } = await memoryAfterGc(pid);
      const result: ConnectionResult = {
        connected,
        failed,
        rssBeforeMiB: before / 2 ** 20,
        rssAfterMiB: after / 2 ** 20,
        bytesPerSocket: Math.round((after - before) / connected),
        heapBytesPerSocket: Math.round((heapAfter - heapBefore) / connected),
        connectSeconds: connectMs / 1000,
      };
      out.systems[name] = result;
      console.log(
        `  ${name}: ${connected} connected (${failed} failed) in ${(connectMs / 1000).toFixed(1)} s; RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB = ${result.bytesPerSocket} B/socket; heap ${result.heapBytesPerSocket} B/socket (after a full GC)`,
      );
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await sys.stop();
    }
  }
  return out;
}
