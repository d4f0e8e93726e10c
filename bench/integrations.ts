// What webhooks and Web Push cost per message, on two Parleys 2 + 2 one after the other, each variant run twice,
// interleaved (A B C… C B A…), so drift on the machine falls on every variant alike. Whole-machine CPU per message,
// latency and Postgres's work per message come from the sweep's run code (bench/measure.ts) for the 1:1 Socket.IO
// load; the REST runs below send to members who are offline, the only ones push notifies.
// Parley as shipped (push off):
//   no-outbox         the webhook triggers disabled: Parley as it was before webhooks (what "off" is compared with)
//   webhooks-off      as shipped, no endpoint registered
//   webhooks-on       one endpoint subscribed to all six event types: a receiver in this process, answering 204
//   rest-offline      REST sends to a member with no socket (no push: it is off)
// Parley with VAPID keys (push on) and PUSH_COLLAPSE_MS=0 (every message a push: the worst case):
//   push-online       every member has a push subscription and a socket: each message looks and sends nothing
//   rest-offline-unsubscribed   REST sends to an offline member without a subscription
//   rest-offline-push REST sends to an offline member with one: one push per message, to a stand-in push service
// The receivers' work (the webhook receiver; the push stand-in verifying each VAPID JWT and decrypting each payload)
// is the orchestrator's, in the machine's CPU like everything else, and shown apart.
import webpush from 'web-push';
import { TRIGGERS as WEBHOOK_TRIGGERS } from '../apps/chats/src/database/migrations/1765000000000-webhooks.js';
import { TEST_JWT_SECRET } from '../test/support/cluster.js';
import { PushServiceStandIn } from '../test/support/push-service.js';
import { WebhookReceiver } from '../test/support/webhook-receiver.js';
import { waitFor } from '../tools/lib/wait.js';
import { alignCommands } from './backend-work.js';
import { cpuFigures, CpuTracker, settle } from './cpu.js';
import { medianOf, percentiles } from './latency.js';
import { accessToken, createPairs, now, sleep } from './lib.js';
import { runOnce } from './measure.js';
import { plan, windowMs } from './options.js';
import type { BenchResults, RunFigures } from './results.js';
import { closeRig, idleReading, setUpRigs, trackSpec, type Rig } from './rig.js';
import { figures } from './sweep.js';
import { startParley, type SystemDef } from './systems.js';

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef-0123456789';
const ALL_EVENTS = [
  'message.new',
  'message.updated',
  'conversation.created',
  'member.added',
  'member.removed',
  'read.updated',
];
/** Pairs whose b member never connects (the REST runs' recipients). */
const OFFLINE_PAIRS = 100;

export type IntegrationsResult = NonNullable<BenchResults['integrations']>;
type VariantResult = IntegrationsResult['variants'][number];
type Parley = Awaited<ReturnType<typeof startParley>>;

interface Variant {
  name: string;
  label: string;
  /** The 1:1 Socket.IO load (the sweep's), or REST sends to offline members. */
  load: 'socket' | 'rest';
  setUp?(): Promise<void>;
  /** After each run: what it started is finished (no deliveries left for the next variant's window). */
  tearDown?(): Promise<void>;
  /** Webhook requests or pushes so far (read before and after a run). */
  requests?(): number;
}

export async function integrations(rate: number): Promise<IntegrationsResult> {
  console.log(`\n[integrations] webhooks and push, on and off, on Parley 2 + 2 at ${rate}/s`);
  const variants: VariantResult[] = [];
  const receiver = await new WebhookReceiver().start();
  try {
    variants.push(
      ...(await onRig('parley-push-off', {}, rate, (sys) => pushOffVariants(sys, receiver), receiver)),
    );
  } finally {
    await receiver.stop();
  }
  const vapid = webpush.generateVAPIDKeys();
  const pushService = await PushServiceStandIn.start(vapid.publicKey);
  try {
    const env = {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bench@parley.test',
      PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true',
      PUSH_COLLAPSE_MS: '0',
    };
    variants.push(...(await onRig('parley-push-on', env, rate, (sys) => pushOnVariants(sys, pushService))));
    if (pushService.problems.length)
      throw new Error(`push stand-in: ${pushService.problems.slice(0, 3).join('; ')}`);
  } finally {
    await pushService.close();
  }
  return { rate, gateways: 2, chats: 2, variants };
}

/** One Parley, its users connected, warmed up; its variants measured twice each, interleaved. */
async function onRig(
  name: string,
  env: Record<string, string>,
  rate: number,
  makeVariants: (sys: Parley) => Promise<Variant[]>,
  webhooks?: WebhookReceiver,
): Promise<VariantResult[]> {
  const def: SystemDef = {
    name,
    label: `Parley 2 + 2 (${name})`,
    gateways: 2,
    chats: 2,
    color: '#1b9e77',
    start: () => startParley({ gateways: 2, chats: 2, env: { ADMIN_TOKEN, ...env } }),
  };
  const { rigs, errors } = await setUpRigs([def], plan.pairs);
  const rig = rigs[0];
  if (!rig) throw new Error(`${name} did not start: ${errors.get(name)}`);
  try {
    const sys = rig.sys as Parley;
    const variants = await makeVariants(sys);
    const offline = await offlinePairs(sys);
    webhooks?.on('/bench', () => 204);
    console.log(`  ${name}: JIT warm-up ${plan.jitWarmupMs / 1000} s at ${plan.jitWarmupRate}/s, unrecorded`);
    await runOnce(rig, {
      rate: plan.jitWarmupRate,
      warmupMs: 0,
      windowMs: plan.jitWarmupMs,
      label: 'JIT warm-up',
    });
    await restRun(rig, offline, plan.jitWarmupRate, plan.jitWarmupMs / 4, 'REST warm-up');
    await idleReading([rig], plan.idleMs);
    const runs = new Map<string, { figures: RunFigures; requests: number; ok: boolean }[]>();
    for (let round = 1; round <= plan.runs; round++) {
      for (const v of round % 2 ? variants : [...variants].reverse()) {
        await v.setUp?.();
        const before = v.requests?.() ?? 0;
        const label = `${v.name} run ${round}`;
        let measured: { figures: RunFigures; ok: boolean };
        if (v.load === 'socket') {
          const run = await runOnce(rig, { rate, warmupMs: plan.warmupMs, windowMs: windowMs(rate), label });
          measured = { figures: figures(run), ok: run.ok };
        } else {
          const run = await restRun(rig, offline, rate, windowMs(rate), label);
          measured = { figures: run, ok: run.unacked === 0 };
        }
        await v.tearDown?.();
        const requests = v.requests ? (v.requests() - before) / measured.figures.sent : 0;
        runs.set(v.name, [
          ...(runs.get(v.name) ?? []),
          { ...measured, requests: Math.round(requests * 100) / 100 },
        ]);
        await sleep(500);
      }
    }
    return variants.map((v) => {
      const r = runs.get(v.name)!;
      return {
        name: v.name,
        label: v.label,
        system: name,
        load: v.load,
        median: medianOf(alignCommands(r.map((x) => x.figures))),
        requestsPerMessage: r.map((x) => x.requests),
        runs: r.map((x) => ({
          machineMsPerMessage: x.figures.cpu.machineMsPerMessage,
          e2eP99: x.figures.e2e.p99,
          otherPercent: x.figures.cpu.otherPercent,
          ok: x.ok,
        })),
      };
    });
  } finally {
    await closeRig(rig);
  }
}

async function pushOffVariants(sys: Parley, receiver: WebhookReceiver): Promise<Variant[]> {
  const db = sys.cluster.db;
  const triggers = async (enable: boolean) => {
    for (const [trigger, table] of WEBHOOK_TRIGGERS)
      await db.sql(`ALTER TABLE ${table} ${enable ? 'ENABLE' : 'DISABLE'} TRIGGER ${trigger}`);
  };
  let endpoint: { id: number } | undefined;
  return [
    {
      name: 'no-outbox',
      label: 'webhook triggers disabled (Parley before webhooks)',
      load: 'socket',
      setUp: () => triggers(false),
      tearDown: () => triggers(true),
    },
    { name: 'webhooks-off', label: 'as shipped: the triggers, no endpoint registered', load: 'socket' },
    {
      name: 'webhooks-on',
      label: 'one endpoint for all six event types (a local receiver answering 204)',
      load: 'socket',
      setUp: async () => {
        endpoint = (await adminApi(sys, 'POST', '', {
          url: `${receiver.url}/bench`,
          events: ALL_EVENTS,
        })) as {
          id: number;
        };
      },
      tearDown: async () => {
        await waitFor(
          'the webhook deliveries',
          async () => (await db.sql(`SELECT 1 FROM webhook_deliveries LIMIT 1`)).length === 0,
          120_000,
          100,
        );
        await adminApi(sys, 'DELETE', `/${endpoint!.id}`);
      },
      requests: () => receiver.requests.length,
    },
    { name: 'rest-offline', label: 'REST sends to a member with no socket; push off', load: 'rest' },
  ];
}

async function pushOnVariants(sys: Parley, pushService: PushServiceStandIn): Promise<Variant[]> {
  const db = sys.cluster.db;
  // Every user of the Socket.IO load has a device: they are online, so each message looks and skips.
  const subscribe = (userIds: number[]) =>
    db.sql(
      `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
       SELECT u, e, p, a FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS t(u, e, p, a)`,
      (() => {
        const subs = userIds.map(() => pushService.subscribe());
        return [
          userIds,
          subs.map((s) => s.endpoint),
          subs.map((s) => s.keys.p256dh),
          subs.map((s) => s.keys.auth),
        ];
      })(),
    );
  const online = await db.sql<{ id: number }>(
    `SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM conversation_participants p WHERE p.user_id = u.id)
       AND u.username NOT LIKE 'offline%'`,
  );
  await subscribe(online.map((u) => Number(u.id)));
  const unsubscribeOffline = () =>
    db.sql(
      `DELETE FROM push_subscriptions s USING users u WHERE u.id = s.user_id AND u.username LIKE 'offline%'`,
    );
  const offlineRecipients = async () =>
    (
      await db.sql<{ id: number }>(
        `SELECT c.receiver_id AS id FROM conversations c JOIN users u ON u.id = c.receiver_id
         WHERE u.username LIKE 'offline%'`,
      )
    ).map((r) => Number(r.id));
  return [
    {
      name: 'push-online',
      label: 'push on: every member subscribed and online (nothing sent)',
      load: 'socket',
    },
    {
      name: 'rest-offline-unsubscribed',
      label: 'push on: REST sends to a member with no socket and no subscription',
      load: 'rest',
      setUp: async () => void (await unsubscribeOffline()),
    },
    {
      name: 'rest-offline-push',
      label: 'push on: REST sends to a member with no socket and a subscription (one push per message)',
      load: 'rest',
      setUp: async () => void (await subscribe(await offlineRecipients())),
      tearDown: async () => {
        await waitFor(
          'the pushes',
          async () => (await sys.cluster.chats[0]!.metric('parley_push_queue_length')) === 0,
          60_000,
          100,
        );
        await unsubscribeOffline();
      },
      requests: () => pushService.received.length,
    },
  ];
}

function adminApi(sys: Parley, method: string, path: string, body?: unknown): Promise<unknown> {
  return fetch(`${sys.cluster.gatewayUrl(0)}/api/admin/webhooks${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (res) => {
    if (!res.ok) throw new Error(`${method} /api/admin/webhooks${path}: ${res.status}`);
    return res.status === 204 ? undefined : res.json();
  });
}

interface OfflinePair {
  conversationId: number;
  token: string;
}

/** OFFLINE_PAIRS conversations whose b member (named `offline…`) never connects. */
async function offlinePairs(sys: Parley): Promise<OfflinePair[]> {
  const pairs = await createPairs(sys.cluster.db, OFFLINE_PAIRS, 'offline');
  return pairs.map((p) => ({ conversationId: p.conversationId, token: accessToken(p.a, TEST_JWT_SECRET) }));
}

/**
 * REST sends, open loop at `rate` over the pairs (half to each gateway), for `ms`; the machine's CPU over the same
 * window, per message sent; latency is the send's answer.
 */
async function restRun(
  rig: Rig,
  pairs: OfflinePair[],
  rate: number,
  ms: number,
  label: string,
): Promise<RunFigures & { unacked: number }> {
  const urls = rig.sys.urls;
  const latencies: number[] = [];
  let sent = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const send = (i: number) => {
    const pair = pairs[i % pairs.length]!;
    const t0 = now();
    return fetch(`${urls[i % 2]}/api/chats/conversations/${pair.conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pair.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message_type: 'text', content: `offline ${label} ${i}` }),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 201) latencies.push(now() - t0);
        else failed++;
      })
      .catch(() => void failed++);
  };
  const tracker = new CpuTracker(trackSpec(rig));
  const start = now();
  tracker.start();
  while (now() - start < ms) {
    const due = Math.floor(((now() - start) / 1000) * rate);
    for (; sent < due; sent++) pending.push(send(sent));
    await sleep(5);
  }
  const use = tracker.stop();
  await Promise.all(pending);
  const cpu = cpuFigures(use, sent);
  const answered = percentiles(latencies);
  const result = {
    sent,
    acked: latencies.length,
    unacked: failed,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    deliveredPerSecond: 0,
    e2e: answered,
    ack: answered,
    sendLate: { p99: 0, max: 0 },
    stalls: { count: 0, maxGapMs: 0 },
    cpu,
  };
  console.log(
    `  ${rig.def.name} @ ${rate}/s ${label} (REST): sent ${sent} failed ${failed} | answer p50 ${answered.p50.toFixed(1)} ` +
      `p99 ${answered.p99.toFixed(1)} ms | CPU ${cpu.machineMsPerMessage.toFixed(2)} ms/msg (other ${cpu.otherPercent}%)`,
  );
  await settle(Object.values(rig.sys.pids), rig.idleCores + 0.15);
  return result;
}
