import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  connectRecorded,
  OtlpReceiver,
  registerUser,
  request,
  SpanKinds,
  waitFor,
  WebhookReceiver,
  type AppProcess,
  type ChatClient,
  type ReceivedSpan,
  type Recorder,
} from '@parley/testing';

// OpenTelemetry traces of real processes (2 gateways, 2 chats services) exported over OTLP/HTTP (JSON) to a
// receiver in the test: one message is one trace, from the sender's event through the RPC and the chats handler's
// SQL to the broadcast, and its id is the trace id of the log lines.
const ADMIN_TOKEN = 'tracing-test-admin-token-0123456789abcdef';
let receiver: OtlpReceiver;
let cluster: Cluster;
let alice: AuthResult;
let bob: AuthResult;
let carol: AuthResult;
let conversation: Conversation;
let group: Conversation;
let aliceSocket: ChatClient;
let bobRecorder: Recorder;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    env: {
      LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    gatewayEnv: { ADMIN_TOKEN },
  });
  const [gw0, gw1] = cluster.gateways;
  alice = await registerUser(gw0!.url, 'trA');
  bob = await registerUser(gw1!.url, 'trB');
  carol = await registerUser(gw1!.url, 'trC');
  conversation = (
    await api<Conversation>(gw0!.url, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: bob.user.id },
    })
  ).body;
  group = (
    await api<Conversation>(gw0!.url, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { type: 'group', title: 'traced', member_ids: [bob.user.id, carol.user.id] },
    })
  ).body;
  aliceSocket = await connect(gw0!.url, { token: alice.tokens.access });
  bobRecorder = await connectRecorded(gw1!.url, { token: bob.tokens.access });
  await request(bobRecorder.socket, 'join-conversation', {
    conversationId: conversation.id,
    userId: bob.user.id,
  });
});
afterAll(async () => {
  aliceSocket?.close();
  bobRecorder?.socket.close();
  await cluster?.stop();
  await receiver?.stop();
});

function jsonLines(app: AppProcess): Array<Record<string, unknown>> {
  return app
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const service = (s: ReceivedSpan) => s.resource['service.name'];
const instance = (s: ReceivedSpan) => s.resource['service.instance.id'];
/** A pg span (the instrumentation writes the current semantic conventions' `db.system.name`). */
const isSql = (s: ReceivedSpan) => s.attributes['db.system.name'] === 'postgresql';

/** Whether `ancestor` is on `span`'s chain of parents. */
function descends(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let at = byId.get(span.parentSpanId); at; at = byId.get(at.parentSpanId)) {
    if (at.spanId === ancestor.spanId) return true;
  }
  return false;
}

/** The trace of message `id`: the one trace holding its broadcast span, once every span of it has arrived. */
async function traceOfMessage(
  id: number,
  rpc: 'messages.send' | 'messages.send-batch' = 'messages.send',
): Promise<ReceivedSpan[]> {
  return waitFor(`the spans of message ${id}`, () => {
    const broadcasts = receiver.spans.filter(
      (s) => s.name === 'broadcast message.new' && s.attributes['parley.message.id'] === id,
    );
    if (broadcasts.length !== 1) return undefined;
    const spans = receiver.trace(broadcasts[0]!.traceId);
    const server = byName(spans, `rpc chats ${rpc}`).find((s) => s.kind === SpanKinds.server);
    const complete =
      server &&
      byName(spans, `rpc chats ${rpc}`).some((s) => s.kind === SpanKinds.client) &&
      spans.some((s) => s.parentSpanId === '') &&
      (rpc === 'messages.send-batch' || spans.some(isSql));
    return complete ? spans : undefined;
  });
}

/** What every message's trace holds, whichever edge it came in through. */
function expectOneTracePerMessage(
  spans: ReceivedSpan[],
  edge: ReceivedSpan,
  rpc: string,
  sql: boolean,
): void {
  const traceId = edge.traceId;
  expect(spans.every((s) => s.traceId === traceId)).toBe(true);
  // One root, the edge's span; every other span's parent is in this trace.
  expect(spans.filter((s) => s.parentSpanId === '')).toEqual([edge]);
  const ids = new Set(spans.map((s) => s.spanId));
  expect(spans.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);

  const client = byName(spans, `rpc chats ${rpc}`).find((s) => s.kind === SpanKinds.client)!;
  expect(service(client)).toBe('parley-gateway');
  expect(instance(client)).toBe(instance(edge));
  expect(descends(spans, client, edge)).toBe(true);

  const handler = byName(spans, `rpc chats ${rpc}`).filter((s) => s.kind === SpanKinds.server);
  expect(handler).toHaveLength(1);
  expect(service(handler[0]!)).toBe('parley-chats');
  expect(cluster.chats.map((c) => c.name)).toContain(instance(handler[0]!));
  expect(handler[0]!.parentSpanId).toBe(client.spanId);

  const queries = spans.filter(isSql);
  if (sql) {
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) {
      expect(service(q)).toBe('parley-chats');
      expect(descends(spans, q, handler[0]!)).toBe(true);
    }
  }

  const broadcast = byName(spans, 'broadcast message.new');
  expect(broadcast).toHaveLength(1);
  expect(service(broadcast[0]!)).toBe('parley-gateway');
  expect(instance(broadcast[0]!)).toBe(instance(edge));
  expect(descends(spans, broadcast[0]!, edge)).toBe(true);
}

/** The trace id is on the log lines of the request, in the gateway that took it and the chats instance that ran it. */
async function expectLoggedUnder(traceId: string, gateway: AppProcess, chatsInstance: string): Promise<void> {
  const chats = cluster.chats.find((c) => c.name === chatsInstance)!;
  await waitFor(`chats ${chatsInstance} to log trace ${traceId}`, () =>
    jsonLines(chats).some((l) => l.traceId === traceId && (l.rpc as { pattern?: string })?.pattern),
  );
  await waitFor(`gateway ${gateway.name} to log trace ${traceId}`, () =>
    jsonLines(gateway).some((l) => l.traceId === traceId),
  );
}

describe('tracing', () => {
  it('makes each Socket.IO send one trace: event, RPC, handler and its SQL, broadcast; logs carry its id', async () => {
    const gateway = cluster.gateways[0]!;
    const traceIds = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const ack = await request<{ message: Message }>(aliceSocket, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: `traced ${i}`,
      });
      const spans = await traceOfMessage(ack.message.id);
      const edge = spans.find((s) => s.parentSpanId === '')!;
      expect(edge).toMatchObject({ name: 'socket.io send-message', kind: SpanKinds.consumer });
      expect(instance(edge)).toBe(gateway.name);
      expectOneTracePerMessage(spans, edge, 'messages.send', true);
      // The gateway's "message stored" line names the trace.
      const stored = await waitFor('the stored message logged', () =>
        jsonLines(gateway).find((l) => l.msg === 'message stored' && l.messageId === ack.message.id),
      );
      expect(stored.traceId).toBe(edge.traceId);
      const handler = byName(spans, 'rpc chats messages.send').find((s) => s.kind === SpanKinds.server)!;
      await expectLoggedUnder(edge.traceId, gateway, instance(handler) as string);
      traceIds.add(edge.traceId);
    }
    expect(traceIds.size).toBe(3);
    await bobRecorder.wait('receive-message', 3);
  });

  it('makes a REST send one trace under the HTTP request span, whose id the response echoes', async () => {
    const gateway = cluster.gateways[1]!;
    const res = await fetch(`${gateway.url}/api/chats/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bob.tokens.access}` },
      body: JSON.stringify({ message_type: 'text', content: 'traced over REST' }),
    });
    expect(res.status).toBe(201);
    const message = (await res.json()) as Message;
    const spans = await traceOfMessage(message.id);
    const edge = spans.find((s) => s.parentSpanId === '')!;
    expect(edge.kind).toBe(SpanKinds.server);
    expect(edge.attributes['http.route'] ?? edge.name).toMatch(/messages/);
    expect(instance(edge)).toBe(gateway.name);
    expect(res.headers.get('x-request-id')).toBe(edge.traceId);
    expectOneTracePerMessage(spans, edge, 'messages.send', true);
    const handler = byName(spans, 'rpc chats messages.send').find((s) => s.kind === SpanKinds.server)!;
    await expectLoggedUnder(edge.traceId, gateway, instance(handler) as string);
    // Not the Socket.IO sends' traces.
    const others = receiver.spans.filter((s) => s.name === 'socket.io send-message').map((s) => s.traceId);
    expect(others).not.toContain(edge.traceId);
  });

  it('keeps each message of a batched send its own trace: a handler span in each, linked to the shared one', async () => {
    // Sends of several sockets read in one turn of one gateway leave as one messages.send-batch request.
    const gateway = cluster.gateways[1]!;
    const sockets = await Promise.all(
      [bob, carol, bob, carol].map((u) => connect(gateway.url, { token: u.tokens.access })),
    );
    const senders = [bob, carol, bob, carol];
    let batch: ReceivedSpan[] | undefined;
    try {
      for (let round = 0; round < 10 && !batch; round++) {
        const acks = await Promise.all(
          sockets.map((s, i) =>
            request<{ message: Message }>(s, 'send-message', {
              sender_id: senders[i]!.user.id,
              conversation_id: group.id,
              message_type: 'text',
              content: `batched ${round}.${i}`,
            }),
          ),
        );
        const traces = await Promise.all(
          acks.map((a) =>
            waitFor(`the broadcast of ${a.message.id}`, () =>
              receiver.spans.find(
                (s) =>
                  s.name === 'broadcast message.new' && s.attributes['parley.message.id'] === a.message.id,
              ),
            ),
          ),
        );
        const batched = acks.filter((_, i) =>
          receiver.trace(traces[i]!.traceId).some((s) => s.name === 'rpc chats messages.send-batch'),
        );
        if (batched.length < 2) continue;
        const spans = await Promise.all(
          batched.map((a) => traceOfMessage(a.message.id, 'messages.send-batch')),
        );
        batch = spans.flat();
        expect(new Set(batch.map((s) => s.traceId)).size).toBe(batched.length);
        for (const trace of spans) {
          const edge = trace.find((s) => s.parentSpanId === '')!;
          expect(edge.name).toBe('socket.io send-message');
          expectOneTracePerMessage(trace, edge, 'messages.send-batch', false);
        }
        // One trace holds the handler that ran (and its SQL); each other one links to it, and it to them.
        const handlers = spans.map((t) =>
          byName(t, 'rpc chats messages.send-batch').find((s) => s.kind === SpanKinds.server)!,
        );
        const ran = handlers.filter((h) => h.links.length === handlers.length - 1);
        expect(ran).toHaveLength(1);
        for (const h of handlers.filter((x) => x !== ran[0])) {
          expect(h.links).toEqual([{ traceId: ran[0]!.traceId, spanId: ran[0]!.spanId }]);
        }
        const ranTrace = receiver.trace(ran[0]!.traceId);
        expect(ranTrace.some((s) => isSql(s) && descends(ranTrace, s, ran[0]!))).toBe(true);
      }
    } finally {
      for (const s of sockets) s.close();
    }
    expect(batch, 'no two sends were batched in 10 rounds').toBeDefined();
  });

  it('sends a webhook request with the trace context of its delivery span (a chats instance’s)', async () => {
    const hooks = await new WebhookReceiver().start();
    try {
      const endpoint = await api<{ id: number }>(cluster.gatewayUrl(0), 'POST', '/api/admin/webhooks', {
        token: ADMIN_TOKEN,
        body: { url: `${hooks.url}/traced`, events: ['message.new'] },
      });
      expect(endpoint.status).toBe(201);
      const message = await api<Message>(
        cluster.gatewayUrl(1),
        'POST',
        `/api/chats/conversations/${conversation.id}/messages`,
        { token: bob.tokens.access, body: { message_type: 'text', content: 'traced webhook' } },
      );
      const hook = await waitFor(
        'the webhook request',
        () => hooks.to('/traced').find((r) => r.event.data.message.id === message.body.id),
        10_000,
      );
      const [, traceId, spanId] =
        /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(hook.traceparent ?? '') ?? [];
      expect(traceId, `traceparent ${hook.traceparent}`).toBeDefined();
      // The request's span: the delivery's own, or the http instrumentation's client span under it.
      const sent = await waitFor('the request span', () =>
        receiver.spans.find((s) => s.traceId === traceId && s.spanId === spanId),
      );
      const span =
        sent.name === 'webhook message.new'
          ? sent
          : await waitFor('the delivery span', () =>
              receiver.spans.find((s) => s.traceId === traceId && s.spanId === sent.parentSpanId),
            );
      expect(span).toMatchObject({ name: 'webhook message.new', kind: SpanKinds.client });
      expect(span.attributes['parley.webhook.event_id']).toBe(hook.id);
      expect(service(span)).toBe('parley-chats');
    } finally {
      await hooks.stop();
    }
  });

  it('exports only OTLP/JSON the receiver reads', () => {
    expect(receiver.rejected).toEqual([]);
    expect(new Set(receiver.spans.map(service))).toEqual(new Set(['parley-gateway', 'parley-chats']));
  });
});
