// docs/benchmarks.md's generated section (between `<!-- bench:start -->` and `<!-- bench:end -->`) and its charts,
// from one run's results alone: the targets first, then the method, the systems' summary, the per-hop CPU budget
// of one message, the stall runs, every rate, groups, connections, reconnect and history.
import { readFileSync, writeFileSync } from 'node:fs';
import { p99Chart, stallChart } from './chart.js';
import type { BackendWork } from './backend-work.js';
import type { BenchResults, GroupResults, RateStep, RunFigures, SystemResult } from './results.js';
import { targets, targetsMarkdown } from './targets.js';

const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const P99_SVG = new URL('../docs/benchmarks-p99.svg', import.meta.url);
const STALL_SVG = new URL('../docs/benchmarks-stalls.svg', import.meta.url);

/** Rewrites the generated part of docs/benchmarks.md (between the markers) and the charts. */
export function writeReport(r: BenchResults): void {
  writeFileSync(P99_SVG, p99Chart(r));
  if (r.stall) writeFileSync(STALL_SVG, stallChart(r));
  const doc = readFileSync(DOC, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < 0) throw new Error('docs/benchmarks.md lacks the bench:start/bench:end markers');
  writeFileSync(DOC, `${doc.slice(0, i + start.length)}\n${markdown(r)}\n${doc.slice(j)}`);
}

const fix = (digits: number) => (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
const f0 = fix(0);
const f1 = fix(1);
const f2 = fix(2);
const n = (x: number) => x.toLocaleString('en');
const sum = (step: RateStep, k: 'lost' | 'duplicated' | 'unacked' | 'outOfOrder') =>
  step.runs.reduce((a, x) => a + x[k], 0);

/** The kinds of process in the order the CPU tables list them. */
const KIND_ORDER = [
  'gateways',
  'chats',
  'baseline',
  'postgres',
  'redis',
  'load workers',
  'orchestrator',
  'other',
];
const kindsOf = (figures: RunFigures[]) =>
  [...new Set(figures.flatMap((f) => Object.keys(f.cpu.byKind)))].sort(
    (a, b) => (KIND_ORDER.indexOf(a) + 1 || 99) - (KIND_ORDER.indexOf(b) + 1 || 99),
  );
const byKind = (f: RunFigures) =>
  kindsOf([f])
    .map((k) => `${k} ${f0(f.cpu.byKind[k])}`)
    .join(', ');

export function markdown(r: BenchResults): string {
  const m = r.machine;
  const c = r.config;
  const lines: string[] = [
    `Run of ${r.date.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\` (${r.seconds ?? '?'} s): ${m.cores} × ${m.cpu}, ` +
      `${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.postgres}, Redis ${m.redis}. Raw results: ` +
      '`bench/results/latest.json` (every run of every step, with its latency timeline).',
    '',
    '**Targets** (issue 15), each from this run:',
    '',
    ...targetsMarkdown(targets(r)),
    '',
    `**Method.** Every system is started at the beginning and stays up, each with its own ${c.loadWorkersPerSystem} ` +
      `load-worker processes and ${c.pairs} conversations × 2 members (member a on the system's first gateway, b on its ` +
      `second, both in the same worker), everything on the same ${m.cores} cores. Each system first runs ` +
      `${c.jitWarmupMs / 1000} s unrecorded at ${c.jitWarmupRate} msg/s (JIT warm-up). Then, for each offered rate, ` +
      `each system in turn, ${c.runsPerRate} times, the order reversed for the second run, so that the machine's drift ` +
      `hits every system alike; figures are the median of the runs (for two, their mean). A run is ${c.warmupMs / 1000} s ` +
      `of load unrecorded, then a measured window of max(${c.durationMs / 1000} s, ${n(c.minSamples)} messages), so ` +
      'every p99 has at least that many samples behind it (n). The load is open loop: every sender has a fixed ' +
      'schedule, and latencies count from the scheduled send time, not from when the send ran (how late the send ' +
      'loops were is shown). A rate is sustained when every run has 0 lost, 0 duplicated and 0 unacknowledged ' +
      'messages and the median end-to-end p99 is ≤ 50 ms; a system that fails one gets one bisection step and leaves ' +
      `the sweep; every system is measured at ${n(c.tableRate)} msg/s. A stall is a gap of 100 ms or more between ` +
      "consecutive deliveries, over all the system's receivers merged. CPU: the whole machine's busy time " +
      '(/proc/stat: user, nice, system, irq, softirq, steal) per message sent is the headline; per process, the ' +
      "system's processes, its load workers, the bench orchestrator, Postgres's own processes and the backends of the " +
      'system\'s database, and redis-server, each pid read every 250 ms and kept for its lifetime; "other" is the ' +
      'machine less those (idle systems, other users of the machine).',
    '',
  ];
  if (r.idle) {
    const list = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${f1(v)}`)
        .join(', ');
    lines.push(
      `**Idle**, every system up and every user connected, nothing sent: the machine was ${f1(r.idle.machinePercent)}% ` +
        `of a core busy (by system, with its load workers: ${list(r.idle.bySystem)}; shared: ${list(r.idle.shared)}; ` +
        `other ${f1(r.idle.otherPercent)}).`,
      '',
    );
  }
  lines.push(...summary(r), ...hopBudget(r), ...backendSection(r), ...stallSection(r));
  if (Object.values(r.systems).some((s) => s.steps.length > 0))
    lines.push('![p99 end-to-end latency against offered rate](benchmarks-p99.svg)', '');
  for (const [name, s] of Object.entries(r.systems)) lines.push(...rateTable(name, s));
  if (r.groups) lines.push(...groupsMarkdown(r.groups));
  lines.push(
    ...connectionsMarkdown(r),
    ...reconnectMarkdown(r),
    ...historyMarkdown(r),
    ...integrationsMarkdown(r),
  );
  return lines.join('\n');
}

function summary(r: BenchResults): string[] {
  const rate = r.config.tableRate;
  const lines = [
    `| system | processes | max sustained (msg/s) | e2e p50 at ${n(rate)}/s | p99 | max | stalls | CPU ms / msg (machine) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, s] of Object.entries(r.systems)) {
    const procs = name === 'baseline' ? '1' : `${s.gateways} + ${s.chats}`;
    if (s.error) {
      lines.push(`| ${name} | ${procs} | could not start: ${s.error.split('\n')[0]} | | | | | |`);
      continue;
    }
    const k = s.steps.find((st) => st.offered === rate);
    const x = k?.median;
    lines.push(
      `| ${name} | ${procs} | ${n(s.maxSustained)}${s.topped ? ' (highest tried)' : ''} | ${x ? `${f2(x.e2e.p50)} ms` : '–'} | ` +
        `${x ? `${f2(x.e2e.p99)} ms` : '–'} | ${x ? `${f1(x.e2e.max)} ms` : '–'} | ${x ? f1(x.stalls.count) : '–'} | ` +
        `${x ? f2(x.cpu.machineMsPerMessage) : '–'}${k?.pastMax ? ' (past its max)' : ''} |`,
    );
  }
  lines.push('');
  for (const [name, s] of Object.entries(r.systems)) lines.push(`- **${name}**: ${s.label}`);
  lines.push('');
  return lines;
}

/** The per-hop CPU budget of one message: µs per message by kind of process, at the summary's rate. */
function hopBudget(r: BenchResults): string[] {
  const rate = r.config.tableRate;
  const columns = ['parley', 'parley-ws', 'parley-1x1', 'seed003', 'seed003-1x1', 'baseline']
    .map((name) => ({ name, step: r.systems[name]?.steps.find((s) => s.offered === rate) }))
    .filter((x): x is { name: string; step: RateStep } => x.step !== undefined);
  if (columns.length === 0) return [];
  const kinds = kindsOf(columns.map((x) => x.step.median));
  const lines = [
    `**Per-hop CPU budget of one message** at ${n(rate)} msg/s: µs of CPU per message sent, by kind of process ` +
      '(median of the runs; "other" is the machine less the tracked processes):',
    '',
    `| process | ${columns.map((x) => `${x.name}${x.step.pastMax ? ' (past its max)' : ''}`).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ];
  for (const k of kinds)
    lines.push(`| ${k} | ${columns.map((x) => f0(x.step.median.cpu.byKind[k])).join(' | ')} |`);
  lines.push(
    `| **machine** | ${columns.map((x) => `**${f0(x.step.median.cpu.machineMsPerMessage * 1000)}**`).join(' | ')} |`,
    '',
  );
  return lines;
}

/** The columns of the Redis and Postgres work table: per message sent. */
const BACKEND_HEAD =
  '| Redis commands | above idle | Redis µs | most called (per msg) | Postgres transactions (reads too) | rows inserted | rows updated | rows fetched | WAL bytes | WAL fsyncs |';
const backendCells = (b: BackendWork) => {
  const top = Object.entries(b.redis.byCommand)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 4)
    .map(([c, v]) => `${c} ${f2(v)}`)
    .join(', ');
  const p = b.postgres;
  return (
    `${f1(b.redis.commandsPerMessage)} | ${f1(b.redis.commandsPerMessageAboveIdle)} | ${f0(b.redis.usecPerMessage)} | ${top} | ` +
    `${f2(p?.commitsPerMessage)} | ${f2(p?.rowsInsertedPerMessage)} | ${f2(p?.rowsUpdatedPerMessage)} | ` +
    `${f1(p?.rowsFetchedPerMessage)} | ${f0(p?.walBytesPerMessage)} | ${f2(p?.walSyncsPerMessage)} |`
  );
};

/** Redis commands and Postgres work per message (bench/backend-work.ts), for every system and group step measured. */
function backendSection(r: BenchResults): string[] {
  const rows: string[] = [];
  for (const [name, s] of Object.entries(r.systems))
    for (const st of s.steps)
      if (st.median.backends)
        rows.push(
          `| ${name} | ${n(st.offered)}${st.pastMax ? ' (past its max)' : ''} | ${backendCells(st.median.backends)}`,
        );
  for (const st of r.groups?.steps ?? [])
    if (st.backends)
      rows.push(`| parley, groups of ${st.members} | ${n(st.offered)} | ${backendCells(st.backends)}`);
  if (rows.length === 0) return [];
  return [
    '**Redis and Postgres work per message sent** (docs/scaling.md sizes from these): counters read at both ends of ' +
      "each window: Redis's `INFO commandstats` (the whole server's, which every system of the run shares; \"above " +
      'idle" less what it ran with every system idle) and execution time; the system\'s own `pg_stat_database` row, and ' +
      "`pg_stat_wal` (the whole server's). Median of the runs.",
    '',
    `| system | offered/s ${BACKEND_HEAD}`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

function stallSection(r: BenchResults): string[] {
  if (!r.stall) return [];
  const lines = [
    `**Stall runs**: ${r.stall.windowMs / 1000} s at ${r.stall.rate} msg/s on each system in turn, after the warm-up (one run each):`,
    '',
    '| system | n | e2e p50 | p99 | max | stalls (≥ 100 ms) | longest gap | when (s into the window: gap ms) | send late max | CPU ms / msg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, x] of Object.entries(r.stall.systems)) {
    const when = x.stallList
      .slice(0, 8)
      .map((s) => `${f1(s.atMs / 1000)}: ${f0(s.gapMs)}`)
      .join(', ');
    lines.push(
      `| ${name} | ${n(x.e2e.n)} | ${f2(x.e2e.p50)} | ${f2(x.e2e.p99)} | ${f1(x.e2e.max)} | ${x.stalls.count} | ${f0(x.stalls.maxGapMs)} ms | ` +
        `${when || '–'}${x.stallList.length > 8 ? ', …' : ''} | ${f1(x.sendLate.max)} ms | ${f2(x.cpu.machineMsPerMessage)} |`,
    );
  }
  lines.push('', '![highest latency per 100 ms in the stall runs](benchmarks-stalls.svg)', '');
  return lines;
}

function rateTable(name: string, s: SystemResult): string[] {
  if (s.steps.length === 0) return [];
  const lines = [
    `<details><summary>${name}: every rate (${s.gateways} + ${s.chats})</summary>`,
    '',
    'Latencies in ms, the median of the runs; p99 of each run in brackets; lost, dup, unacked and out of order are ' +
      'totals over the runs; CPU per message in µs by process kind.',
    '',
    '| offered/s | window | n | delivered/s | lost | dup | unacked | out of order | e2e p50 | p95 | p99 (runs) | max | ack p99 | stalls | send late max | CPU ms / msg (machine) | µs / msg by process | ✓ |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const st of s.steps) {
    const x = st.median;
    const note = st.bisect ? ' (bisection)' : st.pastMax ? ' (past its max)' : '';
    lines.push(
      `| ${n(st.offered)}${note} | ${st.windowMs / 1000} s | ${n(Math.round(x.e2e.n))} | ${n(Math.round(x.deliveredPerSecond))} | ` +
        `${sum(st, 'lost')} | ${sum(st, 'duplicated')} | ${sum(st, 'unacked')} | ${sum(st, 'outOfOrder')} | ${f2(x.e2e.p50)} | ` +
        `${f2(x.e2e.p95)} | ${f2(x.e2e.p99)} (${st.runs.map((u) => f1(u.e2e.p99)).join(', ')}) | ${f1(x.e2e.max)} | ` +
        `${f2(x.ack.p99)} | ${f1(x.stalls.count)} | ${f1(x.sendLate.max)} | ${f2(x.cpu.machineMsPerMessage)} | ${byKind(x)} | ` +
        `${st.sustained ? '✓' : '✗'} |`,
    );
  }
  lines.push('', '</details>', '');
  return lines;
}

function groupsMarkdown(g: GroupResults): string[] {
  const sizes = [...new Set(g.steps.map((st) => st.members))];
  const layout = sizes
    .map((size) => `${g.steps.find((st) => st.members === size)!.groups} groups of ${size} members`)
    .join(', ');
  const pct = (o: Record<string, number>) =>
    Object.entries(o)
      .filter(([, v]) => v > 0.5)
      .map(([k, v]) => `${k} ${f0(v)}`)
      .join(', ');
  const lines = [
    `**Groups** (Parley only: the baseline and the seed-003 design have no groups), ${g.gateways} gateways and ${g.chats} chats ` +
      `services, ${layout}, created through \`POST /api/chats/conversations\`; member i of a group on gateway ` +
      `i mod ${g.gateways}; each message from a member picked at random, open loop. Each group size first ran ` +
      `${g.jitWarmupMs / 1000} s unrecorded; each step ${g.warmupMs / 1000} s warm-up, then a window of at least ` +
      `${g.durationMs / 1000} s. A delivery is one \`receive-message\` at one member socket; every message is due once ` +
      "at each member's socket but the sender's (which gets `message-sent`). Latencies in ms.",
    '',
    '| members | groups | offered msg/s | window | sent | unacked | delivered/s | missing | dup | misdelivered | out of order | e2e p50 | p95 | p99 | max | ack p99 | stalls | exactly once |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const st of g.steps)
    lines.push(
      `| ${st.members} | ${st.groups} | ${st.offered} | ${st.windowMs / 1000} s | ${st.sent} | ${st.unacked} | ${n(st.deliveredPerSecond)} | ` +
        `${st.missing} | ${st.duplicated} | ${st.misdelivered + st.deliveredUnacked} | ${st.outOfOrder} | ${f2(st.e2e.p50)} | ` +
        `${f2(st.e2e.p95)} | ${f2(st.e2e.p99)} | ${f1(st.e2e.max)} | ${f2(st.ack.p99)} | ${st.stalls.count} | ${st.exact ? '✓' : '✗'} |`,
    );
  lines.push(
    '',
    '"Misdelivered": `receive-message` at the sending socket or outside the conversation, or of a message whose send ' +
      'was not acknowledged.',
    '',
    "What it costs: the whole machine's busy CPU per message sent and per delivery, in all and above what the " +
      `machine spends idle with every member connected (${f0(g.idle.machinePercent)}% of a core: ${pct(g.idle.processes)}, ` +
      `other ${f0(g.idle.otherPercent)}). \`conversation-updated\` per message counts frames at all member sockets; ` +
      '"broadcasts" the distinct member views (unread count, role, mute) they carried, one adapter broadcast each.',
    '',
    '| members | offered msg/s | CPU ms / sent | µs / delivery | above idle: ms / sent | µs / delivery | `conversation-updated` / msg | broadcasts / msg | µs / msg by process |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const st of g.steps)
    lines.push(
      `| ${st.members} | ${st.offered} | ${f2(st.cpuMsPerSent)} | ${f0(st.cpuMsPerDelivered * 1000)} | ` +
        `${f2(st.cpuMsPerSentAboveIdle)} | ${f0(st.cpuMsPerDeliveredAboveIdle * 1000)} | ${f1(st.updatesPerMessage)} | ` +
        `${f1(st.viewsPerMessage)} | ${Object.entries(st.cpu.byKind)
          .map(([k, v]) => `${k} ${f0(v)}`)
          .join(', ')} |`,
    );
  lines.push('');
  for (const x of g.fanout) {
    const parts = Object.entries(x.byKind)
      .map(([k, v]) => `${k} ${f0(v * 1000)}`)
      .join(', ');
    lines.push(
      `**Fan-out cost**: at ${x.offered} messages/s, groups of ${x.toMembers} instead of ${x.fromMembers} members made ` +
        `${f1(x.extraDeliveriesPerMessage)} more deliveries per message and cost **${f0(x.cpuMsPerDelivery * 1000)} µs of ` +
        `machine CPU per extra delivery** (the difference of CPU per message sent over the difference of deliveries per ` +
        `message, so what a send costs whatever its group and what the machine spends idle cancel out; by process, ` +
        `in µs: ${parts}).`,
      '',
    );
  }
  return lines;
}

function connectionsMarkdown(r: BenchResults): string[] {
  if (!r.connections) return [];
  const c = r.connections.systems;
  const lines = [
    `**Connections** (${n(r.connections.sockets)} idle sockets on one process, Parley's one gateway or the baseline; ` +
      'growth of RSS and of the heap in use, each reading after a full GC):',
    '',
    '| server | connected | RSS before → after | RSS per socket | heap per socket | time to connect all |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of ['baseline', 'parley'] as const) {
    const s = c[name];
    if (s)
      lines.push(
        `| ${name} | ${s.connected} | ${f0(s.rssBeforeMiB)} → ${f0(s.rssAfterMiB)} MiB | ${n(s.bytesPerSocket)} B | ` +
          `${s.heapBytesPerSocket === undefined ? '–' : n(s.heapBytesPerSocket)} B | ${f1(s.connectSeconds)} s |`,
      );
  }
  if (c.baseline && c.parley)
    lines.push(
      '',
      `Parley / baseline: ${f2(c.parley.connectSeconds / c.baseline.connectSeconds)}× the time to connect, ` +
        `${f2(c.parley.bytesPerSocket / c.baseline.bytesPerSocket)}× in RSS per socket` +
        (c.parley.heapBytesPerSocket && c.baseline.heapBytesPerSocket
          ? `, ${f2(c.parley.heapBytesPerSocket / c.baseline.heapBytesPerSocket)}× in heap`
          : '') +
        '.',
    );
  lines.push('');
  return lines;
}

function reconnectMarkdown(r: BenchResults): string[] {
  const x = r.reconnect;
  if (!x) return [];
  return [
    `**Reconnect after a gateway restart**: ${n(x.rejoined)} of ${n(x.clients)} clients reconnected and re-joined ` +
      `their conversation ${f1(x.secondsAfterReady)} s after the new gateway was ready (${f1(x.secondsAfterStop)} s after SIGTERM; ` +
      `the old one drained in ${f1(x.drainSeconds)} s). Clients back off exponentially (0.5 s → 3 s, ±50% jitter).` +
      (x.complete === false
        ? ` **Not all came back**: the measurement stopped waiting; what the clients saw: ${Object.entries(
            x.events ?? {},
          )
            .map(([k, v]) => `${k} × ${v}`)
            .join(', ')}.`
        : ''),
    '',
  ];
}

function historyMarkdown(r: BenchResults): string[] {
  const h = r.history;
  if (!h) return [];
  const names: Record<string, string> = {
    newest: 'history, newest page (`page=1`)',
    middle: 'history, middle (`before_seq`)',
    oldest: 'history, oldest (`after_seq=0`)',
    deepPage: 'history, `page` in the middle',
    firstPage: 'conversation list, first page',
    page26: 'conversation list, 26th page (cursor)',
  };
  const lines = [
    `**History** (one conversation of ${n(h.messages)} messages; a user with 1,000 conversations), REST end to end ` +
      'through the gateway, 500 sequential requests each over one keep-alive connection, timed after 1,000 unrecorded ones:',
    '',
    '| request | p50 | p99 | p99 / floor |',
    '| --- | --- | --- | --- |',
    `| \`GET /health/live\` (no RPC, no database: the floor of any REST request here) | ${f2(h.floor.p50)} ms | ${f2(h.floor.p99)} ms | 1 |`,
  ];
  for (const [k, v] of [...Object.entries(h.pages), ...Object.entries(h.list)])
    lines.push(`| ${names[k] ?? k} | ${f2(v.p50)} ms | ${f2(v.p99)} ms | ${f2(v.p99 / h.floor.p99)}× |`);
  lines.push(
    '',
    `Query plans (EXPLAIN ANALYZE): ${Object.entries(h.plans)
      .map(([k, p]) => `${k} ${p.indexOnly ? 'index scans only' : 'SEQ SCAN'} in ${f2(p.executionMs)} ms`)
      .join('; ')}.`,
    '',
  );
  return lines;
}

function integrationsMarkdown(r: BenchResults): string[] {
  const x = r.integrations;
  if (!x) return [];
  const base = (v: { load: string; system: string }) =>
    x.variants.find(
      (b) => b.load === v.load && b.name === (v.load === 'socket' ? 'no-outbox' : 'rest-offline'),
    );
  const lines = [
    `**Integrations** (bench/integrations.ts): two Parleys ${x.gateways} + ${x.chats}, one as shipped (push off), one ` +
      `with VAPID keys and \`PUSH_COLLAPSE_MS=0\` (every message to an offline member a push: the worst case), each ` +
      `at ${n(x.rate)} messages/s, its variants run twice, interleaved. "socket" is the sweep's 1:1 Socket.IO load (e2e: ` +
      'send to delivery); "rest" is REST sends to members with no socket (e2e: the send\'s answer). CPU is the whole ' +
      "machine's per message sent; the receivers (webhook receiver, push-service stand-in verifying and decrypting " +
      'each push) run in the orchestrator, shown apart (for the rest rows the orchestrator also makes the REST ' +
      'requests).',
    '',
    '| variant | load | machine CPU ms/msg (runs) | vs. its baseline | of which orchestrator µs/msg | p99 | Postgres rows written / msg | requests / msg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const v of x.variants) {
    const pg = v.median.backends?.postgres;
    const written = pg
      ? pg.rowsInsertedPerMessage + pg.rowsUpdatedPerMessage + pg.rowsDeletedPerMessage
      : NaN;
    const cpu = v.median.cpu.machineMsPerMessage;
    const b = base(v);
    lines.push(
      `| ${v.name}: ${v.label} | ${v.load} | ${f2(cpu)} (${v.runs.map((run) => f2(run.machineMsPerMessage)).join(', ')}) | ` +
        `${b ? f2(cpu / b.median.cpu.machineMsPerMessage) : '–'}× | ${f1(v.median.cpu.byKind.orchestrator ?? NaN)} | ` +
        `${f1(v.median.e2e.p99)} ms | ${f2(written)} | ${v.requestsPerMessage.map(f2).join(', ')} |`,
    );
  }
  lines.push(
    '',
    'Baselines: the socket variants against `no-outbox` (the webhook triggers disabled: Parley before issue 18), the ' +
      'REST ones against `rest-offline` (push off).',
    '',
  );
  return lines;
}
