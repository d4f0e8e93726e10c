import { readFileSync, writeFileSync } from 'node:fs';

export type SystemName = 'baseline' | 'stock' | 'parley';
type Percentiles = { p50: number; p95: number; p99: number; max: number; n: number };

export interface RateStep {
  offered: number;
  sent: number;
  acked: number;
  unacked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  e2e: Percentiles;
  ack: Percentiles;
  processes: Record<string, { cpuPercent: number; rssMiB: number }>;
  /** CPU time of every process on the machine (servers, Postgres, Redis, load workers) per message sent. */
  cpuMsPerMessage?: number;
  sustained: boolean;
  /** 2 when the rate failed once and was run again (this is the second run). */
  attempts?: number;
}

/** One step of the group scenario: groups of one size under one offered rate. */
export interface GroupStep {
  members: number;
  groups: number;
  /** Messages/s offered over all the groups of this size, each from a member picked at random. */
  offered: number;
  sent: number;
  acked: number;
  unacked: number;
  /** Receipts due: every other member's socket once per acked message. */
  expected: number;
  delivered: number;
  missing: number;
  duplicated: number;
  /** `receive-message` at the sending socket or at a socket outside the conversation. */
  misdelivered: number;
  /** Receipts of messages whose send was not acknowledged. */
  deliveredUnacked: number;
  outOfOrder: number;
  deliveredPerSecond: number;
  e2e: Percentiles;
  ack: Percentiles;
  processes: Record<string, { cpuPercent: number; rssMiB: number; cpuMs?: number }>;
  /** CPU time of every sampled process (servers, Postgres, Redis, load workers) per message sent. */
  cpuMsPerSent: number;
  /** The same per delivery. */
  cpuMsPerDelivered: number;
  /** The same two, less what the processes spend idle (GroupResults.idle) over the step. */
  cpuMsPerSentAboveIdle: number;
  cpuMsPerDeliveredAboveIdle: number;
  /** Busy CPU of the machine (/proc/stat) outside the sampled processes, % of one core: others using it. */
  otherCpuPercent: number;
  /** `conversation-updated` frames per acked message, over all member sockets. */
  updatesPerMessage: number;
  /** Distinct member views those frames carried per message: the adapter broadcasts of `conversation-updated`. */
  viewsPerMessage: number;
  /** Every measured message acked and received exactly once by each other member's socket, and by no other. */
  exact: boolean;
}

/** What one more receiving member costs: two steps at the same rate, groups of two sizes. */
export interface GroupFanout {
  offered: number;
  fromMembers: number;
  toMembers: number;
  /** Measured deliveries per message sent, larger groups less smaller. */
  extraDeliveriesPerMessage: number;
  /** CPU of every sampled process per extra delivery. */
  cpuMsPerDelivery: number;
  /** The same, by kind of process (gateways, chats, postgres, redis, load workers). */
  byKind: Record<string, number>;
}

/** The group scenario's processes with every member connected and joined, nothing sent. */
export interface GroupIdle {
  processes: Record<string, { cpuPercent: number; rssMiB: number; cpuMs?: number }>;
  /** All of them, % of one core. */
  cpuPercent: number;
  otherCpuPercent: number;
}

export interface GroupResults {
  gateways: number;
  chats: number;
  warmupMs: number;
  durationMs: number;
  /** Unrecorded load before the first step of each group size. */
  jitWarmupMs: number;
  idle: GroupIdle;
  steps: GroupStep[];
  fanout: GroupFanout[];
}

export interface BenchResults {
  date: string;
  command: string;
  quick: boolean;
  seconds?: number;
  config: {
    rates: number[];
    warmupMs: number;
    durationMs: number;
    /** Unrecorded load before each system's sweep (absent in results from before 2026-11-21 22:54 UTC). */
    jitWarmupMs?: number;
    jitWarmupRate?: number;
    pairs: number;
    loadWorkers: number;
  };
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    node: string;
    postgres: string;
    redis: string;
  };
  systems: Partial<Record<SystemName, { steps: RateStep[]; maxSustained: number }>>;
  connections?: {
    sockets: number;
    systems: Partial<
      Record<
        'baseline' | 'parley',
        {
          connected: number;
          failed: number;
          rssBeforeMiB: number;
          rssAfterMiB: number;
          bytesPerSocket: number;
          /** Heap in use per socket, both readings after a full GC (older runs lack it). */
          heapBytesPerSocket?: number;
          connectSeconds: number;
        }
      >
    >;
  };
  reconnect?: {
    clients: number;
    rejoined: number;
    /** False when the wait ended before every client was back. */
    complete?: boolean;
    /** Connection errors and disconnect reasons the clients saw, by message. */
    events?: Record<string, number>;
    drainSeconds: number;
    secondsAfterReady: number;
    secondsAfterStop: number;
  };
  history?: {
    messages: number;
    /** `GET /health/live` on the same gateway, the same way: what any REST request costs here (older runs lack it). */
    floor?: Percentiles;
    pages: Record<string, Percentiles>;
    list: Record<string, Percentiles>;
    plans: Record<string, { indexOnly: boolean; executionMs: number }>;
  };
  groups?: GroupResults;
}

const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const SVG = new URL('../docs/benchmarks-p99.svg', import.meta.url);
const COLORS: Record<SystemName, string> = { baseline: '#888888', stock: '#d95f02', parley: '#1b9e77' };

/** Rewrites the generated part of docs/benchmarks.md (between the markers) and the chart. */
export function writeReport(r: BenchResults): void {
  writeFileSync(SVG, chart(r));
  const doc = readFileSync(DOC, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < 0) throw new Error('docs/benchmarks.md lacks the bench:start/bench:end markers');
  writeFileSync(DOC, `${doc.slice(0, i + start.length)}\n${markdown(r)}\n${doc.slice(j)}`);
}

const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(1));
const f0 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(0));
const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(2));

export function markdown(r: BenchResults): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `Run of ${r.date.slice(0, 16).replace('T', ' ')} UTC, \`${r.command}\` (${r.seconds ?? '?'} s): ${m.cores} × ${m.cpu}, ` +
      `${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.postgres}, Redis ${m.redis}. Raw results: ` +
      `\`bench/results/latest.json\`. ` +
      (r.config.jitWarmupMs
        ? `Each system first ran ${r.config.jitWarmupMs / 1000} s unrecorded at ${r.config.jitWarmupRate} messages/s (JIT warm-up). `
        : '') +
      `Each rate: ${r.config.warmupMs / 1000} s warm-up, ${r.config.durationMs / 1000} s measured, ` +
      `${r.config.pairs} conversations × 2 members, every member sending, ${r.config.loadWorkers} load-worker processes ` +
      `on the same 2 cores as the servers.`,
    '',
  );
  const sys = r.systems;
  const at = (name: SystemName, rate: number) => sys[name]?.steps.find((s) => s.offered === rate);
  if (sys.baseline || sys.stock || sys.parley) {
    const ratio = (a?: number, b?: number) => (a && b ? `${((a / b) * 100).toFixed(0)}%` : '–');
    lines.push(
      '| system | max sustained (msg/s) | parley / it | e2e p50 at 1,000/s | e2e p99 at 1,000/s | ack p99 at 1,000/s |',
    );
    lines.push('| --- | --- | --- | --- | --- | --- |');
    for (const name of ['baseline', 'stock', 'parley'] as const) {
      const s = sys[name];
      if (!s) continue;
      const k = at(name, 1000);
      lines.push(
        `| ${name} | ${s.maxSustained.toLocaleString('en')} | ${name === 'parley' ? '–' : ratio(sys.parley?.maxSustained, s.maxSustained)} | ` +
          `${k ? `${f2(k.e2e.p50)} ms` : '–'} | ${k ? `${f2(k.e2e.p99)} ms` : '–'} | ${k ? `${f2(k.ack.p99)} ms` : '–'} |`,
      );
    }
    lines.push(
      '',
      '"Max sustained": the highest offered rate at which every message was acknowledged, delivered once, none lost, and the',
      'end-to-end p99 (send → `receive-message` at the other member, on another gateway where there are several) stayed ≤ 50 ms.',
      '',
      '![p99 end-to-end latency against offered rate](benchmarks-p99.svg)',
      '',
    );
    for (const name of ['baseline', 'stock', 'parley'] as const) {
      const s = sys[name];
      if (!s) continue;
      lines.push(`<details><summary>${name}: every rate</summary>`, '');
      lines.push(
        '| offered/s | delivered/s | sent | lost | dup | out of order | e2e p50 | p95 | p99 | max | ack p99 | CPU % by process | CPU ms / msg | ✓ |',
      );
      lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const st of s.steps) {
        const cpu = Object.entries(st.processes)
          .filter(([, p]) => p.cpuPercent > 0.5)
          .map(([n, p]) => `${n} ${p.cpuPercent.toFixed(0)}`)
          .join(', ');
        lines.push(
          `| ${st.offered} | ${st.deliveredPerSecond} | ${st.sent} | ${st.lost} | ${st.duplicated} | ${st.outOfOrder} | ${f2(st.e2e.p50)} | ` +
            `${f2(st.e2e.p95)} | ${f2(st.e2e.p99)} | ${f1(st.e2e.max)} | ${f2(st.ack.p99)} | ${cpu} | ${f2(st.cpuMsPerMessage)} | ${st.sustained ? '✓' : '✗'}${st.attempts === 2 ? ' (2nd run)' : ''} |`,
        );
      }
      lines.push('', '</details>', '');
    }
  }
  if (r.groups) lines.push(...groupsMarkdown(r.groups));
  if (r.connections) {
    const c = r.connections.systems;
    lines.push(
      `**Memory per idle socket** (${r.connections.sockets.toLocaleString('en')} sockets on one process; growth of RSS and of the heap in use, each reading after a full GC):`,
      '',
    );
    lines.push(
      '| server | connected | RSS before → after | RSS per socket | heap per socket | time to connect all |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const name of ['baseline', 'parley'] as const) {
      const s = c[name];
      if (s)
        lines.push(
          `| ${name} | ${s.connected} | ${s.rssBeforeMiB.toFixed(0)} → ${s.rssAfterMiB.toFixed(0)} MiB | ${s.bytesPerSocket.toLocaleString('en')} B | ${s.heapBytesPerSocket?.toLocaleString('en') ?? '–'} B | ${s.connectSeconds.toFixed(1)} s |`,
        );
    }
    if (c.baseline && c.parley)
      lines.push(
        '',
        `Parley / baseline: ${(c.parley.bytesPerSocket / c.baseline.bytesPerSocket).toFixed(2)}× in RSS${
          c.parley.heapBytesPerSocket && c.baseline.heapBytesPerSocket
            ? `, ${(c.parley.heapBytesPerSocket / c.baseline.heapBytesPerSocket).toFixed(2)}× in heap`
            : ''
        }.`,
      );
    lines.push('');
  }
  if (r.reconnect) {
    const x = r.reconnect;
    lines.push(
      `**Reconnect after a gateway restart**: ${x.rejoined.toLocaleString('en')} of ${x.clients.toLocaleString('en')} clients reconnected and re-joined ` +
        `their conversation ${x.secondsAfterReady.toFixed(1)} s after the new gateway was ready (${x.secondsAfterStop.toFixed(1)} s after SIGTERM; ` +
        `the old one drained in ${x.drainSeconds.toFixed(1)} s). Clients back off exponentially (0.5 s → 3 s, ±50% jitter).` +
        (x.complete === false
          ? ` **Not all came back**: the measurement stopped waiting; what the clients saw: ${Object.entries(
              x.events ?? {},
            )
              .map(([k, v]) => `${k} × ${v}`)
              .join(', ')}.`
          : ''),
      '',
    );
  }
  if (r.history) {
    const h = r.history;
    lines.push(
      `**History** (one conversation of ${h.messages.toLocaleString('en')} messages; a user with 1,000 conversations), REST end to end through the gateway, 500 sequential requests each over one keep-alive connection, timed after 1,000 unrecorded ones:`,
      '',
    );
    lines.push('| request | p50 | p99 |', '| --- | --- | --- |');
    const names: Record<string, string> = {
      newest: 'history, newest page (`page=1`)',
      middle: 'history, middle (`before_seq`)',
      oldest: 'history, oldest (`after_seq=0`)',
      deepPage: 'history, `page` in the middle',
      firstPage: 'conversation list, first page',
      page26: 'conversation list, 26th page (cursor)',
    };
    if (h.floor)
      lines.push(
        `| \`GET /health/live\` (no RPC, no database: the floor of any REST request here) | ${f2(h.floor.p50)} ms | ${f2(h.floor.p99)} ms |`,
      );
    for (const [k, v] of [...Object.entries(h.pages), ...Object.entries(h.list)])
      lines.push(`| ${names[k] ?? k} | ${f2(v.p50)} ms | ${f2(v.p99)} ms |`);
    lines.push(
      '',
      `Query plans (EXPLAIN ANALYZE): ${Object.entries(h.plans)
        .map(([k, p]) => `${k} ${p.indexOnly ? 'index scans only' : 'SEQ SCAN'} in ${f2(p.executionMs)} ms`)
        .join('; ')}.`,
      '',
    );
  }
  return lines.join('\n');
}

function groupsMarkdown(g: GroupResults): string[] {
  const sizes = [...new Set(g.steps.map((st) => st.members))];
  const layout = sizes
    .map((n) => `${g.steps.find((st) => st.members === n)!.groups} groups of ${n} members`)
    .join(', ');
  const cpuBy = (processes: GroupIdle['processes'], other: number) =>
    [
      ...Object.entries(processes)
        .filter(([, p]) => p.cpuPercent > 0.5)
        .map(([n, p]) => `${n} ${p.cpuPercent.toFixed(0)}`),
      `other ${other.toFixed(0)}`,
    ].join(', ');
  const lines = [
    `**Groups** (Parley only: the baseline and stock have no groups), ${g.gateways} gateways and ${g.chats} chats ` +
      `services, ${layout}, created through \`POST /api/chats/conversations\`; member i of a group on gateway ` +
      `i mod ${g.gateways}; each message from a member picked at random. Each group size first ran ` +
      `${g.jitWarmupMs / 1000} s unrecorded; each step ${g.warmupMs / 1000} s warm-up, ${g.durationMs / 1000} s measured. ` +
      "A delivery is one `receive-message` at one member socket; every message is due once at each member's socket " +
      "but the sender's (which gets `message-sent`). Latencies in ms.",
    '',
    '| members | groups | offered msg/s | sent | unacked | delivered/s | missing | dup | misdelivered | out of order | e2e p50 | p95 | p99 | max | ack p99 | exactly once |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const st of g.steps)
    lines.push(
      `| ${st.members} | ${st.groups} | ${st.offered} | ${st.sent} | ${st.unacked} | ${st.deliveredPerSecond} | ${st.missing} | ` +
        `${st.duplicated} | ${st.misdelivered + st.deliveredUnacked} | ${st.outOfOrder} | ${f2(st.e2e.p50)} | ${f2(st.e2e.p95)} | ` +
        `${f2(st.e2e.p99)} | ${f1(st.e2e.max)} | ${f2(st.ack.p99)} | ${st.exact ? '✓' : '✗'} |`,
    );
  lines.push(
    '',
    '"Misdelivered": `receive-message` at the sending socket or outside the conversation, or of a message whose send ' +
      'was not acknowledged.',
    '',
    'What it costs: CPU of all processes (gateways, chats services, Postgres, Redis, load workers), per message sent ' +
      'and per delivery, in all and above what the same processes spend idle with every member connected ' +
      `(${g.idle.cpuPercent.toFixed(0)}% of a core: ${cpuBy(g.idle.processes, g.idle.otherCpuPercent)}); ` +
      '"other" is the busy CPU of the machine outside them (other users of the machine). `conversation-updated` ' +
      'per message counts frames at all member sockets; "broadcasts" the distinct member views (unread count, role, ' +
      'mute) they carried, one adapter broadcast each.',
    '',
    '| members | offered msg/s | CPU ms / sent | µs / delivery | above idle: ms / sent | µs / delivery | `conversation-updated` / msg | broadcasts / msg | CPU % by process |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const st of g.steps)
    lines.push(
      `| ${st.members} | ${st.offered} | ${f2(st.cpuMsPerSent)} | ${f0(st.cpuMsPerDelivered * 1000)} | ` +
        `${f2(st.cpuMsPerSentAboveIdle)} | ${f0(st.cpuMsPerDeliveredAboveIdle * 1000)} | ${f1(st.updatesPerMessage)} | ` +
        `${f1(st.viewsPerMessage)} | ${cpuBy(st.processes, st.otherCpuPercent)} |`,
    );
  lines.push('');
  for (const x of g.fanout) {
    const parts = Object.entries(x.byKind)
      .map(([k, v]) => `${k} ${f0(v * 1000)}`)
      .join(', ');
    lines.push(
      `**Fan-out cost**: at ${x.offered} messages/s, groups of ${x.toMembers} instead of ${x.fromMembers} members made ` +
        `${f1(x.extraDeliveriesPerMessage)} more deliveries per message and cost **${f0(x.cpuMsPerDelivery * 1000)} µs of ` +
        `CPU per extra delivery** (the difference of CPU per message sent over the difference of deliveries per ` +
        `message, so what a send costs whatever its group and what the processes spend idle cancel out; by process, ` +
        `in µs: ${parts}).`,
      '',
    );
  }
  return lines;
}

/** p99 end-to-end latency against offered rate, one line per system (log-scaled axes). */
export function chart(r: BenchResults): string {
  const W = 720;
  const H = 420;
  const pad = { l: 70, r: 140, t: 30, b: 55 };
  const steps = (['baseline', 'stock', 'parley'] as const).flatMap((n) =>
    (r.systems[n]?.steps ?? []).map((s) => ({ n, s })),
  );
  if (steps.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg"/>';
  const xs = steps.map(({ s }) => s.offered);
  const ys = steps.map(({ s }) => Math.max(0.5, Math.min(s.e2e.p99, 5000)));
  const [x0, x1] = [Math.min(...xs) / 1.2, Math.max(...xs) * 1.2];
  const [y0, y1] = [Math.min(0.5, ...ys), Math.max(100, ...ys) * 1.3];
  const X = (x: number) =>
    pad.l + ((Math.log(x) - Math.log(x0)) / (Math.log(x1) - Math.log(x0))) * (W - pad.l - pad.r);
  const Y = (y: number) =>
    H - pad.b - ((Math.log(y) - Math.log(y0)) / (Math.log(y1) - Math.log(y0))) * (H - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="18" font-size="14">p99 end-to-end latency (ms) vs offered rate</text>`,
  ];
  for (const y of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000].filter((v) => v >= y0 && v <= y1)) {
    parts.push(
      `<line x1="${pad.l}" x2="${W - pad.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="${y === 50 ? '#c00' : '#eee'}"${y === 50 ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    parts.push(`<text x="${pad.l - 8}" y="${Y(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (const x of [100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000].filter((v) => v >= x0 && v <= x1)) {
    parts.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#eee"/>`);
    parts.push(
      `<text x="${X(x)}" y="${H - pad.b + 16}" text-anchor="middle">${x >= 1000 ? `${x / 1000}k` : x}</text>`,
    );
  }
  parts.push(`<text x="${W / 2 - 60}" y="${H - 12}">offered messages / s (log)</text>`);
  parts.push(`<text x="${W - pad.r + 8}" y="${Y(50) + 4}" fill="#c00">p99 = 50 ms</text>`);
  let legend = 0;
  for (const n of ['baseline', 'stock', 'parley'] as const) {
    const pts = (r.systems[n]?.steps ?? []).map(
      (s) => [X(s.offered), Y(Math.max(0.5, Math.min(s.e2e.p99, 5000)))] as const,
    );
    if (pts.length === 0) continue;
    parts.push(
      `<polyline fill="none" stroke="${COLORS[n]}" stroke-width="2.5" points="${pts.map((p) => p.join(',')).join(' ')}"/>`,
    );
    for (const [x, y] of pts) parts.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${COLORS[n]}"/>`);
    parts.push(
      `<text x="${W - pad.r + 8}" y="${pad.t + 20 + legend * 18}" fill="${COLORS[n]}">${n} (max ${r.systems[n]!.maxSustained}/s)</text>`,
    );
    legend++;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
