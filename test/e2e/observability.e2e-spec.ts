import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  connectRecorded,
  registerUser,
  request,
  waitFor,
  type AppProcess,
} from '@parley/testing';

// Logs and metrics of real processes: JSON lines with a trace id that crosses the RPC, no credentials, and metrics
// that move when messages flow.
let cluster: Cluster;
let gateway: AppProcess;
let chats: AppProcess;
let alice: AuthResult;
let bob: AuthResult;
let conversation: Conversation;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, chats: 1, env: { LOG_LEVEL: 'debug' } });
  [gateway, chats] = [cluster.gateways[0]!, cluster.chats[0]!];
  alice = await registerUser(gateway.url, 'obsA');
  bob = await registerUser(gateway.url, 'obsB');
  conversation = (
    await api<Conversation>(gateway.url, 'POST', '/api/chats/conversations', {
      token: alice.tokens.access,
      body: { receiver_id: bob.user.id },
    })
  ).body;
});
afterAll(async () => {
  await cluster?.stop();
});

function jsonLines(app: AppProcess): Array<Record<string, unknown>> {
  return app
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('logs', () => {
  it('are JSON lines with app and instance, and one trace id follows a REST send from the gateway into the chats service', async () => {
    const res = await fetch(`${gateway.url}/api/chats/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${alice.tokens.access}`,
        'x-request-id': 'trace-e2e-rest',
      },
      body: JSON.stringify({ message_type: 'text', content: 'traced' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('trace-e2e-rest');
    await waitFor('the chats service to log the RPC', () =>
      jsonLines(chats).some(
        (l) => l.traceId === 'trace-e2e-rest' && (l.rpc as { pattern?: string })?.pattern === 'messages.send',
      ),
    );
    await waitFor('the gateway to log the request', () =>
      jsonLines(gateway).some((l) => l.traceId === 'trace-e2e-rest'),
    );
    expect(
      jsonLines(gateway).every(
        (l) => l.app === 'gateway' && l.instance === gateway.name && typeof l.level === 'string',
      ),
    ).toBe(true);
  });

  it('gives each Socket.IO event a trace id that the chats service logs too', async () => {
    const socket = await connect(gateway.url, { token: alice.tokens.access });
    const ack = await request<{ message: Message }>(socket, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'ws traced',
    });
    socket.close();
    const stored = await waitFor('the gateway to log the stored message', () =>
      jsonLines(gateway).find((l) => l.msg === 'message stored' && l.messageId === ack.message.id),
    );
    expect(stored).toMatchObject({
      event: 'send-message',
      userId: alice.user.id,
      conversationId: conversation.id,
    });
    await waitFor('the chats service to log the same trace id', () =>
      jsonLines(chats).some(
        (l) => l.traceId === stored.traceId && (l.rpc as { pattern?: string })?.pattern === 'messages.send',
      ),
    );
  });

  it('never contain a password or a token', async () => {
    const password = 'a-password-that-must-not-leak';
    const reg = await api<AuthResult>(gateway.url, 'POST', '/api/auth/register', {
      body: { username: 'leaky', password },
    });
    await api(gateway.url, 'POST', '/api/auth/login', {
      body: { username: 'leaky', password: 'wrong-password-also-secret' },
    });
    const refreshed = await api<{ tokens: { access: string } }>(gateway.url, 'POST', '/api/auth/refresh', {
      body: { refresh: reg.body.tokens.refresh },
    });
    const viaQuery = await connect(gateway.url, { query: { token: reg.body.tokens.access } });
    viaQuery.close();
    await api(gateway.url, 'GET', '/api/chats/conversations?cursor=x', {
      token: refreshed.body.tokens.access,
    }); // a logged 400
    const everything = gateway.logs() + chats.logs();
    for (const secret of [
      password,
      'wrong-password-also-secret',
      reg.body.tokens.access,
      reg.body.tokens.refresh,
      refreshed.body.tokens.access,
    ]) {
      expect(everything.includes(secret)).toBe(false);
    }
  });
});

describe('metrics', () => {
  it('move when messages flow: sockets, joins, messages received and delivered, RPC handling', async () => {
    const metric = (app: AppProcess, name: string, labels?: Record<string, string>) =>
      app.metric(name, labels);
    const before = {
      received: await metric(gateway, 'parley_messages_received_total'),
      delivered: await metric(gateway, 'parley_messages_delivered_total', { event: 'receive-message' }),
      joins: await metric(gateway, 'parley_joins_total'),
      handled: await metric(chats, 'parley_rpc_handled_total', { pattern: 'messages.send' }),
      rpcs: await metric(gateway, 'parley_rpc_request_seconds_count', { pattern: 'messages.send' }),
    };
    const b = await connectRecorded(gateway.url, { token: bob.tokens.access });
    const a = await connect(gateway.url, { token: alice.tokens.access });
    expect(await metric(gateway, 'parley_sockets_connected')).toBeGreaterThanOrEqual(2);
    await request(b.socket, 'join-conversation', { conversationId: conversation.id, userId: bob.user.id });
    for (let i = 0; i < 3; i++) {
      await request(a, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: `m${i}`,
      });
    }
    await b.wait('receive-message', 3);
    expect(await metric(gateway, 'parley_messages_received_total')).toBe(before.received + 3);
    expect(await metric(gateway, 'parley_messages_delivered_total', { event: 'receive-message' })).toBe(
      before.delivered + 3,
    );
    expect(await metric(gateway, 'parley_joins_total')).toBe(before.joins + 1);
    expect(await metric(chats, 'parley_rpc_handled_total', { pattern: 'messages.send' })).toBe(
      before.handled + 3,
    );
    expect(await metric(gateway, 'parley_rpc_request_seconds_count', { pattern: 'messages.send' })).toBe(
      before.rpcs + 3,
    );
    const text = await chats.metrics();
    for (const name of [
      'parley_rpc_stream_backlog',
      'parley_rpc_in_flight',
      'nodejs_eventloop_lag_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
    a.close();
    b.socket.close();
  });
});
