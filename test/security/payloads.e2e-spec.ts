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
let bob: AuthResult;
let conversation: Conversation;
const sockets: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, chats: 1 });
  gw = cluster.gatewayUrl(0);
  alice = await registerUser(gw, 'plA');
  bob = await registerUser(gw, 'plB');
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
    const bodies: Array<[string, string, string, string?]> = [
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
      // the message lifecycle: a send's metadata and attachments, an edit's body
      [
        `/api/chats/conversations/${conversation.id}/messages`,
        `{"message_type":"text","content":"x","metadata":{"a":${deepArray(20_000)}}}`,
        alice.tokens.access,
      ],
      [
        `/api/chats/conversations/${conversation.id}/messages`,
        `{"message_type":"text","content":"","attachments":[{"type":"file","url":"https://x.example/a","name":${deepArray(20_000)}}]}`,
        alice.tokens.access,
      ],
      [
        `/api/chats/conversations/${conversation.id}/messages/1`,
        `{"content":"x","m":${deepArray(20_000)}}`,
        alice.tokens.access,
        'PATCH',
      ],
    ];
    for (const [path, rawBody, token, method = 'POST'] of bodies) {
      const res = await api<{ statusCode: number; message: string[] }>(gw, method, path, { rawBody, token });
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
      'edit-message',
      'delete-message',
      'react',
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

describe('the message lifecycle’s limits', () => {
  const messagesPath = () => `/api/chats/conversations/${conversation.id}/messages`;
  const send = (body: object) =>
    api<Message & { message: string | string[] }>(gw, 'POST', messagesPath(), {
      token: alice.tokens.access,
      body: { message_type: 'text', ...body },
    });
  /** Every stored row a refused request could have touched. */
  async function digest(): Promise<string> {
    const [row] = await cluster.db.sql<{ d: string }>(`SELECT md5(
        coalesce((SELECT string_agg(m::text, ',' ORDER BY id) FROM messages m), '') ||
        coalesce((SELECT string_agg(c::text, ',' ORDER BY id) FROM conversations c), '') ||
        coalesce((SELECT string_agg(r::text, ',' ORDER BY message_id, user_id, emoji) FROM message_reactions r), '')
      ) AS d`);
    return row!.d;
  }
  const file = (i = 0) => ({ type: 'file', url: `https://files.example.com/${i}.pdf` });
  /** `{a: {b: {c: "x…"}}}`: three levels, exactly `bytes` long as JSON. */
  const metadataOf = (bytes: number) => ({
    a: { b: { c: 'x'.repeat(bytes - '{"a":{"b":{"c":""}}}'.length) } },
  });

  it('accepts the largest send-message the contract allows (attachments, metadata, a reply) over Socket.IO and REST', async () => {
    const s = await open();
    const first = await send({ content: 'the one replied to' });
    expect(first.status).toBe(201);
    // Characters that take the most bytes each: \u0001 (6 as JSON) where text may hold it, 中 (3 as UTF-8) in URLs.
    const url = (i: number) => {
      const head = `https://cdn${i}.example.com/`;
      return head + '中'.repeat(2048 - head.length);
    };
    const attachments = Array.from({ length: 10 }, (_, i) => ({
      type: 'image',
      url: url(i),
      name: '\u0001'.repeat(255),
      mime_type: '\u0001'.repeat(127),
      size: Number.MAX_SAFE_INTEGER,
      width: 100_000,
      height: 100_000,
    }));
    const metadata = metadataOf(2048);
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(2048);
    const body = {
      message_type: 'text',
      content: '\u0001'.repeat(4000),
      reply_to_id: first.body.id,
      attachments,
      metadata,
    };
    const event = {
      sender_id: alice.user.id,
      conversation_id: conversation.id,
      ...body,
      client_message_id: '\u0003'.repeat(64), // (the test above used \u0001s: this is a new message)
    };
    // It fits in a frame the gateway accepts.
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(socketFrameMaxBytes(4000));
    const ack = await request<{ success: boolean; error?: string; message: Message }>(
      s,
      'send-message',
      event,
    );
    expect(ack.error).toBeUndefined();
    expect(ack.message).toMatchObject({
      content: body.content,
      reply_to_id: first.body.id,
      attachments,
      metadata,
    });
    expect(s.connected).toBe(true);

    const rest = await send({ ...body, client_message_id: '\u0002'.repeat(64) });
    expect({ status: rest.status, message: rest.body.message }).toEqual({ status: 201, message: undefined });
    expect(rest.body).toMatchObject({ attachments, metadata });
  });

  it('refuses one past each limit with its exact message, accepts the limit itself, and changes nothing it refuses', async () => {
    const s = await open();
    const target = (await send({ content: 'limits' })).body;
    const path = (rest = '') => `${messagesPath()}/${target.id}${rest}`;
    const emit = (event: string, payload: object) =>
      request<{ success: boolean; error?: string }>(s, event, {
        conversationId: conversation.id,
        messageId: target.id,
        ...payload,
      });
    const before = await digest();
    const refused: Array<[string, () => Promise<{ status: number; message: unknown }>, number, unknown]> = [
      [
        '11 attachments',
        async () => {
          const r = await send({ content: 'x', attachments: Array.from({ length: 11 }, (_, i) => file(i)) });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['attachments must contain no more than 10 elements'],
      ],
      [
        'a URL of 2049 characters',
        async () => {
          const head = 'https://files.example.com/';
          const r = await send({
            content: 'x',
            attachments: [{ type: 'file', url: head + 'a'.repeat(2049 - head.length) }],
          });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['attachments.0.url must be shorter than or equal to 2048 characters'],
      ],
      [
        'a URL that is not http(s)',
        async () => {
          const r = await send({ content: 'x', attachments: [{ type: 'file', url: 'javascript:alert(1)' }] });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['attachments.0.url must be an http(s) URL'],
      ],
      [
        'metadata of 2049 bytes',
        async () => {
          const r = await send({ content: 'x', metadata: metadataOf(2049) });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['metadata must be at most 2048 bytes as JSON'],
      ],
      [
        'metadata of 2049 bytes in fewer characters (é is 2 bytes)',
        async () => {
          const r = await send({ content: 'x', metadata: { a: 'é'.repeat(1021) } });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['metadata must be at most 2048 bytes as JSON'],
      ],
      [
        'metadata 4 levels deep',
        async () => {
          const r = await send({ content: 'x', metadata: { a: { b: { c: { d: 1 } } } } });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['metadata must be at most 3 levels deep'],
      ],
      [
        'metadata 4 levels deep, over Socket.IO',
        async () => {
          const r = await request<{ success: boolean; error?: string }>(s, 'send-message', {
            sender_id: alice.user.id,
            conversation_id: conversation.id,
            message_type: 'text',
            content: 'x',
            metadata: { a: [[[1]]] },
          });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'metadata must be at most 3 levels deep',
      ],
      [
        'an emoji of 33 UTF-16 units (16 thumbs up and an x), over Socket.IO as over REST',
        async () => {
          const r = await emit('react', { emoji: '👍'.repeat(16) + 'x', add: true });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'emoji must be shorter than or equal to 32 characters',
      ],
      [
        'an emoji of 34 UTF-16 units (17 red hearts, each ❤ and U+FE0F), over Socket.IO',
        async () => {
          const r = await emit('react', { emoji: '❤️'.repeat(17), add: true });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'emoji must be shorter than or equal to 32 characters',
      ],
      [
        'an attachment name of 400 UTF-16 units (200 red hearts)',
        async () => {
          const r = await send({ content: 'x', attachments: [{ ...file(), name: '❤️'.repeat(200) }] });
          return { status: r.status, message: r.body.message };
        },
        400,
        ['attachments.0.name must be shorter than or equal to 255 characters'],
      ],
      [
        'an emoji of 64 UTF-16 units (32 thumbs up), over Socket.IO as over REST',
        async () => {
          const r = await emit('react', { emoji: '👍'.repeat(32), add: true });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'emoji must be shorter than or equal to 32 characters',
      ],
      [
        'an empty emoji, over Socket.IO',
        async () => {
          const r = await emit('react', { emoji: '', add: true });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'emoji must be longer than or equal to 1 characters',
      ],
      [
        'an emoji of 33 UTF-16 units, over REST',
        async () => {
          const r = await api(gw, 'PUT', path(`/reactions/${encodeURIComponent('👍'.repeat(16) + 'x')}`), {
            token: alice.tokens.access,
          });
          return { status: r.status, message: (r.body as { message: unknown }).message };
        },
        400,
        'emoji must be shorter than or equal to 32 characters',
      ],
      [
        'an edit to empty content, of a text message without attachments',
        async () => {
          const r = await api(gw, 'PATCH', path(), { token: alice.tokens.access, body: { content: '' } });
          return { status: r.status, message: (r.body as { message: unknown }).message };
        },
        400,
        'content should not be empty',
      ],
      [
        'an edit to empty content, over Socket.IO',
        async () => {
          const r = await emit('edit-message', { content: '' });
          return { status: r.success ? 200 : 400, message: r.error };
        },
        400,
        'content should not be empty',
      ],
      [
        'an edit of 4001 characters',
        async () => {
          const r = await api(gw, 'PATCH', path(), {
            token: alice.tokens.access,
            body: { content: 'x'.repeat(4001) },
          });
          return { status: r.status, message: (r.body as { message: unknown }).message };
        },
        400,
        ['content must be shorter than or equal to 4000 characters'],
      ],
    ];
    const answers = [];
    for (const [what, attempt] of refused) answers.push({ what, ...(await attempt()) });
    // Soft: one wrong answer does not hide the others, nor what the accepted limits below show.
    expect.soft(answers).toEqual(refused.map(([what, , status, message]) => ({ what, status, message })));
    expect.soft(await digest()).toBe(before);

    // The limits themselves are accepted: 10 attachments, 2048 bytes and 3 levels of metadata, a 32-character
    // emoji (16 thumbs up), 20 distinct reactions; the 21st distinct one is refused, over either transport.
    const ten = await send({ content: '', attachments: Array.from({ length: 10 }, (_, i) => file(i)) });
    expect(ten.status).toBe(201);
    expect(ten.body.attachments).toHaveLength(10);
    const meta = await send({ content: 'x', metadata: metadataOf(2048) });
    expect(meta.status).toBe(201);
    // A message of its own: anything wrongly accepted above stays off it.
    const fresh = (await send({ content: 'limits, accepted' })).body;
    const freshPath = (rest: string) => `${messagesPath()}/${fresh.id}${rest}`;
    const react = (emoji: string) =>
      request<{ success: boolean; error?: string }>(s, 'react', {
        conversationId: conversation.id,
        messageId: fresh.id,
        emoji,
        add: true,
      });
    const emojis = ['👍'.repeat(16), ...Array.from({ length: 19 }, (_, i) => `e${i}`)];
    for (const [i, emoji] of emojis.entries()) {
      const ok =
        i % 2
          ? (await react(emoji)).success
          : (
              await api(gw, 'PUT', freshPath(`/reactions/${encodeURIComponent(emoji)}`), {
                token: alice.tokens.access,
              })
            ).status === 200;
      expect({ emoji, ok }).toEqual({ emoji, ok: true });
    }
    const full = await digest();
    expect(await react('one too many')).toEqual({
      success: false,
      error: 'A message has at most 20 distinct reactions',
    });
    const overRest = await api(gw, 'PUT', freshPath('/reactions/21st'), { token: alice.tokens.access });
    expect({ status: overRest.status, message: (overRest.body as { message: unknown }).message }).toEqual({
      status: 400,
      message: 'A message has at most 20 distinct reactions',
    });
    expect(await digest()).toBe(full);
    // An emoji already there is no new one: the other participant may still add it.
    const again = await api<Message>(gw, 'PUT', freshPath('/reactions/e0'), { token: bob.tokens.access });
    expect(again.status).toBe(200);
    expect(again.body.reactions).toHaveLength(20);
    expect(again.body.reactions[0]).toEqual({ emoji: 'e0', count: 2 });
    expect(s.connected).toBe(true);
  });
});
