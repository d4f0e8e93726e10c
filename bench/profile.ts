// `npx tsx bench/profile.ts [rate] [seconds] [--cpu-only] [--warm S] [NAME=value ...]`: runs Parley (2 gateways, 2
// chats) under the bench load (first S seconds unrecorded, 20 by default, so the JIT has compiled the hot code), with
// --cpu-prof, then prints each app process's hottest functions (self time). Profiles land in
// bench/results/profiles/. It also prints the CPU time per message sent over the measured run: the whole machine's
// (/proc/stat), and every tracked process's (apps, load workers, Postgres, Redis; bench/cpu.ts): with --cpu-only
// (no profiler) and NAME=value settings for the apps, that is the A/B measurement of docs/benchmarks.md,
// "Optimizations" (compare its "relative cost" line, which the VM's drifting speed moves least). The load is the
// bench's open loop: latencies count from the scheduled send time.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Cluster, TEST_JWT_SECRET } from '../test/support/cluster.js';
import { cpuFigures, CpuTracker } from './cpu.js';
import { percentiles } from './latency.js';
import { connectUsers, createPairs, mergeResults, now, pairUsers, sleep, Worker } from './lib.js';

const rate = Number(process.argv[2] ?? 800);
const seconds = Number(process.argv[3] ?? 8);
const cpuOnly = process.argv.includes('--cpu-only');
const settings = process.argv.slice(4).filter((a) => a.includes('='));
const warmIndex = process.argv.indexOf('--warm');
const warmSeconds = warmIndex > 0 ? Number(process.argv[warmIndex + 1]) : 20;
const dir = new URL('./results/profiles/', import.meta.url).pathname;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const cluster = await Cluster.start({
  gateways: 2,
  chats: 2,
  nodeArgs: cpuOnly ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  env: {
    RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
    RATE_LIMIT_MESSAGES_BURST: '100000',
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(
      settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  },
});
const workers = [new Worker(), new Worker()];
try {
  const convs = await createPairs(cluster.db, 100, 'prof');
  const users = pairUsers(convs, [cluster.gatewayUrl(0), cluster.gatewayUrl(1)], TEST_JWT_SECRET);
  await connectUsers(workers, users, true);
  const named: Record<string, number> = {
    ...Object.fromEntries([...cluster.gateways, ...cluster.chats].map((p) => [p.name, p.proc.pid!])),
    ...Object.fromEntries(workers.map((w, i) => [`load-worker-${i + 1}`, w.pid])),
  };
  /** One open-loop run: `warmupMs` unrecorded, then `durationMs` measured, its CPU tracked when `track`. */
  const load = async (tag: string, warmupMs: number, durationMs: number, track: boolean) => {
    const startAt = now() + 100;
    const replies = Promise.all(
      workers.map((w) =>
        w.ask(
          {
            type: 'run',
            startAt,
            ratePerSender: rate / users.length,
            warmupMs,
            durationMs,
            drainMs: 3000,
            tag,
          },
          'result',
        ),
      ),
    );
    const tracker = new CpuTracker({ named, databases: [cluster.db.name] });
    await sleep(startAt + warmupMs - now());
    if (track) tracker.start();
    await sleep(startAt + warmupMs + durationMs - now());
    const use = track ? tracker.stop() : undefined;
    return { r: mergeResults((await replies).map((m) => m.result)), use };
  };
  if (warmSeconds > 0) await load('warm', 0, warmSeconds * 1000, false);
  const { r, use } = await load('prof', 1000, seconds * 1000, true);
  const cpu = cpuFigures(use!, r.sent);
  const names = Object.keys(cpu.processes);
  const msPerMessage = (name: string) => cpu.processes[name]!.usPerMessage / 1000;
  const total = names.reduce((a, name) => a + msPerMessage(name), 0);
  console.log(
    `CPU ms per message: ${names
      .map((name) => `${name} ${msPerMessage(name).toFixed(2)}`)
      .join(', ')} | tracked ${total.toFixed(2)}`,
  );
  console.log(
    `machine CPU ms per message (/proc/stat): ${cpu.machineMsPerMessage.toFixed(3)} (machine ${cpu.machinePercent}% of a core; ` +
      `other than the tracked processes ${cpu.otherPercent}%)`,
  );
  // This VM's speed drifts by a quarter within minutes, moving every figure above alike. The load workers do the
  // same work per message whatever the apps do, so the rest measured in load-worker units is the figure to compare
  // between an A and a B (docs/benchmarks.md, "Optimizations").
  const workerMs = names
    .filter((name) => name.startsWith('load-worker'))
    .reduce((a, name) => a + msPerMessage(name), 0);
  console.log(
    `relative cost (all but the load workers, in load-worker units): ${((total - workerMs) / workerMs).toFixed(2)}`,
  );
  const hist = async (app: (typeof cluster.gateways)[number], name: string, pattern = 'messages.send') => {
    const text = await app.metrics();
    const buckets = [
      ...text.matchAll(
        new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*pattern="${pattern}"[^}]*\\} (\\S+)`, 'gm'),
      ),
    ].map((m) => [m[1], Number(m[2])] as const);
    const count = buckets.at(-1)?.[1] ?? 0;
    return buckets.map(([le, c]) => `≤${le}:${count ? ((c / count) * 100).toFixed(0) : 0}%`).join(' ');
  };
  console.log(`gateway RPC round trip  ${await hist(cluster.gateways[0]!, 'parley_rpc_request_seconds')}`);
  console.log(`chats handler time      ${await hist(cluster.chats[0]!, 'parley_rpc_handle_seconds')}`);
  const e2e = percentiles(r.e2e);
  const late = percentiles(r.late);
  console.log(
    `@${rate}/s: sent ${r.sent} acked ${r.acked} delivered ${r.delivered}; e2e p50 ${e2e.p50.toFixed(1)} p99 ${e2e.p99.toFixed(1)} ` +
      `max ${e2e.max.toFixed(1)} ms (n ${e2e.n}); send loop late max ${late.max.toFixed(1)} ms`,
  );
} finally {
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(cluster.gateways.map((p) => p.stop('SIGTERM')));
  await Promise.all(cluster.chats.map((p) => p.stop('SIGTERM')));
  await cluster.stop();
}
await sleep(500);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as { nodes: Node[]; samples: number[] };
  const total = profile.samples.length;
  const self = new Map<string, number>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
  }
  const idle = [...self.entries()].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  console.log(`\n${file}: ${total} samples, ${((1 - idle / total) * 100).toFixed(0)}% busy`);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
  // Self time by package: where a process spends its CPU, in broad strokes.
  const byPackage = new Map<string, number>();
  for (const n of profile.nodes) {
    const url = n.callFrame.url;
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      (url.includes('/dist/')
        ? `parley:${/dist\/apps\/[^/]+\/((?:apps|libs)\/[^/]+)/.exec(url)?.[1] ?? 'app'}`
        : url.startsWith('node:')
          ? 'node'
          : n.callFrame.functionName.startsWith('(')
            ? n.callFrame.functionName
            : 'native');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + (n.hitCount ?? 0));
  }
  console.log(
    `  by package: ${[...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 16)
      .map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)}%`)
      .join(', ')}`,
  );
}
process.exit(0);
