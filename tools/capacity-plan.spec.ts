import { describe, expect, it } from 'vitest';
import type { BackendWork } from '../bench/backend-work.js';
import type { BenchResults } from '../bench/results.js';
import { ASSUMPTIONS, markdown, measuredFigures, oneToOneStep, planShape } from './capacity-plan.js';

/** A 1:1 step: only the fields the plan reads. */
const step = (
  offered: number,
  sustained: boolean,
  gateways: number,
  backends?: BackendWork,
  pastMax = false,
) => ({
  offered,
  sustained,
  pastMax,
  median: {
    cpu: { byKind: { gateways, chats: 900, postgres: 600, redis: 300, 'load workers': 400 } },
    backends,
  },
});

const work = (commands: number, rowsUpdated: number): BackendWork => ({
  redis: {
    commandsPerMessage: commands + 1,
    commandsPerMessageAboveIdle: commands,
    byCommand: {},
    usecPerMessage: 0,
    netInBytesPerMessage: 0,
    netOutBytesPerMessage: 0,
  },
  postgres: {
    commitsPerMessage: 0.5,
    rollbacksPerMessage: 0,
    rowsInsertedPerMessage: 1,
    rowsUpdatedPerMessage: rowsUpdated,
    rowsDeletedPerMessage: 0,
    rowsFetchedPerMessage: 0,
    blocksReadPerMessage: 0,
    blocksHitPerMessage: 0,
    walBytesPerMessage: 2 ** 20 / 50_000, // 1 MiB/s at 50,000 msg/s
    walRecordsPerMessage: 0,
    walSyncsPerMessage: 0.2,
  },
});

/** The full run: CPU, groups, sockets, no backend counters (an older bench). */
const full = {
  config: { tableRate: 1000 },
  systems: {
    parley: {
      steps: [
        step(200, true, 1500),
        step(300, true, 1200),
        step(400, false, 1000),
        step(1000, false, 500, undefined, true),
      ],
    },
  },
  groups: {
    // 1% of a core idle in each gateway: 0.02 cores = 200 µs per message at 100 msg/s.
    idle: { processes: { 'gateway-3': 1, 'gateway-4': 1, 'chats-1': 0, postgres: 0, redis: 0 } },
    steps: [
      {
        members: 10,
        offered: 100,
        sent: 1000,
        delivered: 9000,
        windowMs: 10_000,
        cpu: { byKind: { gateways: 2000, chats: 800, postgres: 700, redis: 250 } },
      },
    ],
  },
  connections: { systems: { parley: { bytesPerSocket: 20_000 } } },
} as unknown as BenchResults;

/** A trial with the counters. */
const trial = {
  config: { tableRate: 1000 },
  systems: { parley: { steps: [step(300, false, 9999, work(10, 3))] } },
  groups: {
    idle: { processes: {} },
    steps: [
      {
        members: 10,
        offered: 300,
        sent: 3000,
        delivered: 27_000,
        windowMs: 10_000,
        cpu: { byKind: {} },
        backends: work(8, 10),
      },
    ],
  },
} as unknown as BenchResults;

const files = [
  { file: 'full.json', r: full },
  { file: 'trial.json', r: trial },
];

describe('capacity plan', () => {
  it('reads 1:1 CPU from the highest sustained rate, not from a failed or past-max one', () => {
    expect(oneToOneStep(full)?.offered).toBe(300);
    expect(oneToOneStep(full, true)?.offered).toBe(1000);
  });

  it('takes each figure from the first file that has it', () => {
    const m = measuredFigures(files);
    const one = m.shapes.find((s) => s.shape === '1:1')!;
    expect(one.cpuUs.gateways).toBe(1200); // full.json, not the trial's 9999
    expect(one.backends?.redis.commandsPerMessageAboveIdle).toBe(10); // only the trial has counters
    expect(one.sources.join('\n')).toContain('trial.json systems.parley.steps[offered=300].median.backends');
    expect(m.bytesPerSocket).toBe(20_000);
  });

  it("subtracts a group step's idle CPU per kind and counts its deliveries", () => {
    const g = measuredFigures(files).shapes.find((s) => s.shape === 'groups of 10')!;
    expect(g.cpuUs.gateways).toBeCloseTo(1800, 6);
    expect(g.cpuUs.chats).toBe(800);
    expect(g.deliveriesPerMessage).toBe(9);
    expect(g.backends?.postgres?.rowsUpdatedPerMessage).toBe(10);
  });

  it('sizes each resource at the target rate and utilisation', () => {
    const one = measuredFigures(files).shapes[0]!;
    const p = planShape(one, 20_000);
    // 50,000 msg/s × 1,200 µs = 60 cores of gateway work, at 60% of one core per pod: 100 pods.
    expect(p.gatewaysForCpu).toBe(100);
    // 2 GiB × 50% / 20,000 B = 53,687 sockets, capped at 50,000 per gateway: 20 pods for 1M sockets.
    expect(p.gatewaysForSockets).toBe(20);
    expect(p.gateways).toBe(100);
    expect(p.chats).toBe(75); // 45 cores / 0.6
    expect(p.redisShards).toBe(25); // 15 cores of Redis / 0.6 of one core each
    expect(p.redisCommandsPerSecond).toBe(500_000); // above idle, not the raw 11
    expect(p.redisUsPerCommand).toBe(30);
    expect(p.postgresCores).toBe(50); // 30 cores / 0.6
    expect(p.postgresCommitsPerSecond).toBe(25_000);
    expect(p.postgresRowsWrittenPerSecond).toBe(200_000);
    expect(p.walFsyncsPerSecond).toBe(10_000);
    expect(p.walMiBPerSecond).toBeCloseTo(1, 9);
    // One Redis: 0.6 s of CPU per second / 300 µs = 2,000 msg/s; one 64-core primary: 38.4 / 600 µs = 64,000.
    expect(p.ceilings.oneRedis).toBeCloseTo(2000, 6);
    expect(p.ceilings.onePostgresPrimary).toBeCloseTo(64_000, 6);
    expect(p.bottlenecks).toEqual(['one Redis at 2,000 msg/s', 'one Postgres primary at 64,000 msg/s']);
  });

  it('follows the assumptions: more sockets per user, a bigger pod', () => {
    const one = measuredFigures(files).shapes[0]!;
    const p = planShape(one, 20_000, { ...ASSUMPTIONS, socketsPerUser: 3, utilisation: 0.5 });
    expect(p.gatewaysForSockets).toBe(60);
    expect(p.gatewaysForCpu).toBe(120);
  });

  it('prints the table with every shape and the first bottleneck', () => {
    const md = markdown(measuredFigures(files));
    expect(md).toContain('| | 1:1 | groups of 10 |');
    expect(md).toMatch(/\| \*\*gateway pods\*\* \| \*\*100\*\* \| \*\*/);
    expect(md).toContain('**one Redis at 2,000 msg/s**');
  });
});
