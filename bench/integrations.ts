// What webhooks and Web Push cost per message: one Parley (2 gateways + 2 chats services) under the 1:1 load at
// one rate, its integrations switched between runs, each variant run twice, interleaved (A B C… A B C…), so drift on
// the machine falls on every variant alike. Whole-machine CPU per message, latency and Postgres's work per message
// come from the same run code as the sweep (bench/measure.ts).
//   no-outbox       the webhook triggers disabled: Parley as it was before webhooks (the baseline of "off")
//   webhooks-off    as shipped, no endpoint registered
//   webhooks-on     one endpoint subscribed to all six event types: a receiver in this process, answering 204
// The receiver's CPU is the orchestrator's, counted in the machine's like everything else.
import { WebhookReceiver } from '../test/support/webhook-receiver.js';
import { waitFor } from '../tools/lib/wait.js';
import { sleep } from './lib.js';
import { runOnce } from './measure.js';
import { plan, windowMs } from './options.js';
import type { BenchResults, RunResult } from './results.js';
import { closeRig, idleReading, setUpRigs, type Rig } from './rig.js';
import { alignCommands } from './backend-work.js';
import { medianOf } from './latency.js';
import { figures } from './sweep.js';
import { startParley, type SystemDef } from './systems.js';

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-0123456789';
const WEBHOOK_TRIGGERS: [string, string][] = [
  ['webhooks_message_new', 'messages'],
  ['webhooks_message_updated', 'messages'],
  ['webhooks_conversation_created', 'conversations'],
  ['webhooks_membership', 'membership_events'],
  ['webhooks_read_updated', 'conversation_participants'],
];

interface Variant {
  name: string;
  label: string;
  /** Before each of its runs. */
  setUp(): Promise<void>;
  /** After each of its runs: what it started is finished (no deliveries left for the next variant's window). */
  tearDown(): Promise<void>;
  /** Integration requests made per message sent, over the run (webhook deliveries, pushes). */
  requests?(): number;
}

export type IntegrationsResult = NonNullable<BenchResults['integrations']>;

export async function integrations(rate: number): Promise<IntegrationsResult> {
  console.log(`\n[integrations] webhooks and push, each on and off, on one Parley 2 + 2 at ${rate}/s`);
  const receiver = await new WebhookReceiver().start();
  const def: SystemDef = {
    name: 'parley-integrations',
    label: 'Parley 2 + 2, its integrations switched between runs',
    gateways: 2,
    chats: 2,
    color: '#1b9e77',
    start: () => startParley({ gateways: 2, chats: 2, env: { ADMIN_TOKEN } }),
  };
  const { rigs, errors } = await setUpRigs([def], plan.pairs);
  const rig = rigs[0];
  if (!rig) throw new Error(`the integrations' Parley did not start: ${errors.get(def.name)}`);
  try {
    return await measureVariants(rig, rate, receiver);
  } finally {
    await closeRig(rig);
    await receiver.stop();
  }
}

async function measureVariants(
  rig: Rig,
  rate: number,
  receiver: WebhookReceiver,
): Promise<IntegrationsResult> {
  const sys = rig.sys as Awaited<ReturnType<typeof startParley>>;
  const db = sys.cluster.db;
  const gateway = sys.cluster.gatewayUrl(0);
  const triggers = async (enable: boolean) => {
    for (const [name, table] of WEBHOOK_TRIGGERS)
      await db.sql(`ALTER TABLE ${table} ${enable ? 'ENABLE' : 'DISABLE'} TRIGGER ${name}`);
  };
  const adminApi = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gateway}/api/admin/webhooks${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} /api/admin/webhooks${path}: ${res.status}`);
    return res.status === 204 ? undefined : ((await res.json()) as { id: number });
  };
  const drained = () =>
    waitFor(
      'the webhook deliveries',
      async () => (await db.sql(`SELECT 1 FROM webhook_deliveries LIMIT 1`)).length === 0,
      120_000,
      100,
    );
  let endpoint: { id: number } | undefined;
  let requestsBefore = 0;

  const variants: Variant[] = [
    {
      name: 'no-outbox',
      label: 'webhook triggers disabled (Parley before webhooks)',
      setUp: () => triggers(false),
      tearDown: () => triggers(true),
    },
    {
      name: 'webhooks-off',
      label: 'as shipped: the triggers, no endpoint registered',
      setUp: async () => undefined,
      tearDown: async () => undefined,
    },
    {
      name: 'webhooks-on',
      label: 'one endpoint for all six event types (a local receiver answering 204)',
      setUp: async () => {
        requestsBefore = receiver.requests.length;
        endpoint = await adminApi('POST', '', {
          url: `${receiver.url}/bench`,
          events: [
            'message.new',
            'message.updated',
            'conversation.created',
            'member.added',
            'member.removed',
            'read.updated',
          ],
        });
      },
      tearDown: async () => {
        await drained();
        await adminApi('DELETE', `/${endpoint!.id}`);
      },
      requests: () => receiver.requests.length - requestsBefore,
    },
  ];
  receiver.on('/bench', () => 204);

  console.log(`  JIT warm-up ${plan.jitWarmupMs / 1000} s at ${plan.jitWarmupRate}/s, unrecorded`);
  await runOnce(rig, {
    rate: plan.jitWarmupRate,
    warmupMs: 0,
    windowMs: plan.jitWarmupMs,
    label: 'JIT warm-up',
  });
  await idleReading([rig], plan.idleMs);

  const runs: Record<string, RunResult[]> = {};
  const requests: Record<string, number[]> = {};
  for (let round = 1; round <= plan.runs; round++) {
    for (const v of round % 2 ? variants : [...variants].reverse()) {
      await v.setUp();
      const run = await runOnce(rig, {
        rate,
        warmupMs: plan.warmupMs,
        windowMs: windowMs(rate),
        label: `${v.name} run ${round}`,
      });
      await v.tearDown();
      (runs[v.name] ??= []).push(run);
      (requests[v.name] ??= []).push(v.requests ? Math.round((v.requests() / run.sent) * 100) / 100 : 0);
      await sleep(500);
    }
  }
  return {
    rate,
    gateways: 2,
    chats: 2,
    variants: variants.map((v) => ({
      name: v.name,
      label: v.label,
      median: medianOf(alignCommands(runs[v.name]!.map(figures))),
      requestsPerMessage: requests[v.name]!,
      runs: runs[v.name]!.map((r) => ({
        machineMsPerMessage: r.cpu.machineMsPerMessage,
        e2eP99: r.e2e.p99,
        otherPercent: r.cpu.otherPercent,
        ok: r.ok,
      })),
    })),
  };
}
