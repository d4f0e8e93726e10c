import type { AuthResult, Conversation, Message } from '@parley/contracts';
import { socketFrameMaxBytes } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  registerUser,
  request,
  sleep,
  waitFor,
  type ChatClient,
  conversationBetween,
} from '@parley/testing';

// Finding: "Deep JSON" (a login body with a 20,000-deep array in an unknown field answered 500 with a stack trace
// in the log; a ~1 MB socket payload cost about a second of the event loop). Input deeper or bigger than any valid
// payload is refused with 400 / an error ack by a walk that does not recurse, and a Socket.IO frame larger than the
// largest valid event closes that connection before anything parses it.

let cluster: Cluster;
let gw: string;
let alice: AuthResult;
let conversation: Conversation;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, chats: 1 });
  gw = cluster.gatewayUrl(0);
  alice = await registerUser(gw, 'plA');
  const bob = await registerUser(gw, 'plB');
  conversation = await conversationBetween(gw, alice, bob);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
});

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const TOO_DEEP = 'payload is too deeply nested or has too many values';

function errorLines(): string[] {
  return [...cluster.gateways, ...cluster.chats]
    .flatMap((p) => p.logs().split('\n'))
    .filter((l) => /"level":"(error|fatal)"|RangeError|Maximum call stack|\n\s+at /.test(l));
}

/** A WebSocket speaking Engine.IO/Socket.IO frames by hand, joined to /chat as alice. */
async function rawSocket() {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${gw.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) return;
    const frame = data.toString('utf8');
    if (frame === '2') ws.send('3'); // Engine.IO ping → pong
    frames.push(frame);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(`40/chat,${JSON.stringify({ token: alice.tokens.access })}`);
  await waitFor('the raw socket to join /chat', () => frames.some((f) => f.startsWith('40/chat,')));
  return {
    send: (frame: string | Buffer) => ws.send(frame),
    close: () => ws.close(),
    closed,
    next: async (match: (frame: string) => boolean) => {
      await waitFor('a frame', () => frames.some(match));
      return frames.find(match)!;
    },
  };
}

async function open(): Promise<ChatClient> {
  const s = await connect(gw, { token: alice.tokens.access });
  sockets.push(s);
  return s;
}

describe('deep and large input', () => {
  it('answers a 20,000-deep array in any REST body with 400, not 500, and logs no stack trace', async () => {
    const bodies: Array<[string, string, string]> = [
      ['/api/auth/login', `{"username":"plA","password":"x","extra":${deepArray(20_000)}}`, ''],
      ['/api/auth/register', `{"username":"deep","password":"long enough","x":${deepArray(20_000)}}`, ''],
      ['/api/auth/refresh', `{"refresh":${deepArray(20_000)}}`, ''],
      ['/api/chats/conversations', `{"receiver_id":1,"x":${deepArray(20_000)}}`, alice.tokens.access],
      [
        `/api/chats/conversations/${conversation.id}/messages`,
        `{"message_type":"text","content":"x","m":${deepArray(20_000)}}`,
        alice.tokens.access,
      ],
      [
        `/api/chats/conversations/${conversation.id}/read`,
        `{"seq":${deepArray(20_000)}}`,
        alice.tokens.access,
      ],
      ['/api/auth/logout', `{"refresh":{"a":${deepArray(20_000)}}}`, alice.tokens.access],
    ];
    for (const [path, rawBody, token] of bodies) {
      const res = await api<{ statusCode: number; message: string[] }>(gw, 'POST', path, { rawBody, token });
      expect({ path, status: res.status, message: res.body.message }).toEqual({
        path,
        status: 400,
        message: [TOO_DEEP],
      });
    }
    // Wide rather than deep: 50,000 values in one array.
    const wide = await api(gw, 'POST', '/api/auth/login', {
      rawBody: `{"username":"plA","password":"x","extra":[${Array(50_000).fill(0).join(',')}]}`,
    });
    expect(wide.status).toBe(400);
    expect(errorLines()).toEqual([]);
    const [{ n }] = (await cluster.db.sql<{ n: number }>('SELECT count(*)::int AS n FROM messages')) as [
      { n: number },
    ];
    expect(n).toBe(0);
  });

  it('answers a deep socket payload with an error ack, and the socket stays connected', async () => {
    const s = await open();
    // As deep as socket.io-client's own (recursive) encoder manages; the raw frame below goes deeper.
    const deep = JSON.parse(deepArray(1_000)) as unknown;
    for (const event of [
      'send-message',
      'join-conversation',
      'leave-conversation',
      'typing',
      'mark-read',
      'authenticate',
    ]) {
      const ack = await request<{ success: boolean; error?: string }>(s, event, {
        conversationId: conversation.id,
        nested: deep,
      });
      expect({ event, ack }).toEqual({ event, ack: { success: false, error: TOO_DEEP } });
    }
    // 11,000 levels in a raw frame (just under the frame limit): refused the same way, connection kept.
    const raw = await rawSocket();
    raw.send(`42/chat,7["join-conversation",{"conversationId":1,"x":${deepArray(11_000)}}]`);
    const answer = await raw.next((frame) => frame.startsWith('43/chat,7'));
    expect(JSON.parse(answer.slice('43/chat,7'.length))).toEqual([{ success: false, error: TOO_DEEP }]);
    raw.close();
    expect(s.connected).toBe(true);
    expect(errorLines()).toEqual([]);
  });

  it('accepts the largest valid event, and closes only the connection that sends a bigger frame', async () => {
    const s = await open();
    // 4,000 characters that JSON writes as 6 bytes each: the biggest send-message the contract allows.
    const content = '\u0001'.repeat(4000);
    const largest = await request<{ success: boolean; message: Message }>(s, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content,
      client_message_id: '\u0001'.repeat(64),
    });
    expect(largest.success).toBe(true);
    expect(largest.message.content).toBe(content);

    const bystander = await open();
    for (const size of [socketFrameMaxBytes(4000) + 100, 1_000_000]) {
      const victim = await open();
      const closed = new Promise<string>((resolve) => victim.once('disconnect', resolve));
      (victim.emit as (event: string, payload: unknown) => void)('send-message', {
        sender_id: alice.user.id,
        content: 'x'.repeat(size),
      });
      expect(await closed).toBe('transport close');
    }
    await sleep(100);
    expect(bystander.connected).toBe(true);
    const ack = await request<{ success: boolean }>(bystander, 'mark-read', {
      conversationId: conversation.id,
    });
    expect(ack.success).toBe(true);
  });

  it('survives a binary attachment nested deeper than a call stack (Socket.IO rebuilds those recursively)', async () => {
    // A raw frame: socket.io-client's own encoder could not even write this (it recurses too).
    const raw = await rawSocket();
    raw.send(
      `451-/chat,["send-message",${'['.repeat(12_000)}{"_placeholder":true,"num":0}${']'.repeat(12_000)}]`,
    );
    raw.send(Buffer.from([1, 2, 3]));
    await Promise.race([raw.closed, sleep(2000)]);
    raw.close();
    // Whatever became of those connections, the gateway is up and serves everyone else.
    const fresh = await open();
    expect(
      (await request<{ success: boolean }>(fresh, 'mark-read', { conversationId: conversation.id })).success,
    ).toBe(true);
    expect(cluster.gateways[0]!.alive).toBe(true);
  });
});
