import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AuthResult, Conversation, Message } from '@parley/contracts/wire';
import { ClientEvent, ServerEvent } from '@parley/contracts/wire';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connectRecorded,
  registerUser,
  REPO_ROOT,
  request,
  type Recorder,
} from '@parley/testing';
import { buildAsyncApiDocument, eventKey } from '../../libs/contracts/src/asyncapi/asyncapi.js';

// docs/asyncapi.json (the AsyncAPI 3.0 description of /chat) is what the builder makes, is a well-formed AsyncAPI
// 3.0 document, is served by the gateway, and describes what the gateway really sends: every event and ack of a
// real session is validated against its schema.

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
type Doc = Record<string, unknown> & {
  channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }> }>;
  operations: Record<
    string,
    {
      action: string;
      channel: { $ref: string };
      messages: Array<{ $ref: string }>;
      reply?: { channel: { $ref: string }; messages: Array<{ $ref: string }> };
    }
  >;
  components: {
    messages: Record<string, { name: string; payload: unknown }>;
    schemas: Record<string, unknown>;
  };
};

const built = buildAsyncApiDocument() as Doc;

/** Resolves a local JSON pointer (`#/a/b`) in the document. */
function resolve(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) throw new Error(`not a local reference: ${pointer}`);
  return pointer
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, key) =>
        node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined,
      doc,
    );
}

function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** Validators of every message payload of the document, by message key (`sendMessage`, `sendMessageAck`...). */
function payloadValidators(doc: Doc): Map<string, ValidateFunction> {
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  ajv.addSchema({ $id: 'asyncapi', components: doc.components }); // refs are `#/components/...` of the document
  const out = new Map<string, ValidateFunction>();
  for (const key of Object.keys(doc.components.messages)) {
    out.set(key, ajv.getSchema(`asyncapi#/components/messages/${key}/payload`)!);
  }
  return out;
}

describe('docs/asyncapi.json', () => {
  it('is what the builder makes (regenerate with "npx tsx tools/asyncapi.ts" after changing the contract)', async () => {
    const committed = JSON.parse(await readFile(`${REPO_ROOT}docs/asyncapi.json`, 'utf8')) as unknown;
    expect(committed).toEqual(built);
  });

  it('is a well-formed AsyncAPI 3.0 document', async () => {
    // The official JSON schema (the devDependency @asyncapi/specs).
    const official = (
      createRequire(`${REPO_ROOT}package.json`)('@asyncapi/specs') as { schemas: Record<string, object> }
    ).schemas['3.0.0'];
    expect(official).toBeDefined();
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false }));
    const validate = ajv.compile(official!);
    expect(validate(built), JSON.stringify(validate.errors, null, 2)).toBe(true);

    // Always: the structure the spec requires, and what a JSON schema cannot say (references resolve, operations
    // use their channel's messages).
    expect(built.asyncapi).toBe('3.0.0');
    expect(built.info).toMatchObject({
      title: expect.any(String),
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    for (const ref of refsIn(built)) expect(resolve(built, ref), `$ref ${ref}`).toBeDefined();
    const used = new Set<string>();
    for (const [name, op] of Object.entries(built.operations)) {
      expect(['send', 'receive'], name).toContain(op.action);
      const channel = op.channel.$ref;
      expect(channel, name).toMatch(/^#\/channels\/[^/]+$/);
      for (const m of op.messages) {
        expect(
          m.$ref.startsWith(`${channel}/messages/`),
          `${name}: ${m.$ref} is a message of ${channel}`,
        ).toBe(true);
        used.add(m.$ref);
      }
      if (op.reply) {
        for (const m of op.reply.messages) {
          expect(m.$ref.startsWith(`${op.reply.channel.$ref}/messages/`), `${name} reply`).toBe(true);
          used.add(m.$ref);
        }
      }
    }
    for (const [channel, { messages }] of Object.entries(built.channels)) {
      for (const key of Object.keys(messages)) {
        expect(used.has(`#/channels/${channel}/messages/${key}`), `${channel}.${key} has an operation`).toBe(
          true,
        );
      }
    }
    // every event of the contract, and nothing else, with a compilable payload schema
    const names = Object.values(built.components.messages).map((m) => m.name);
    const events = [...Object.values(ClientEvent), ...Object.values(ServerEvent)];
    expect(names.filter((n) => !n.endsWith(' (ack)')).sort()).toEqual([...events].sort());
    expect(names.filter((n) => n.endsWith(' (ack)')).sort()).toEqual(
      Object.values(ClientEvent)
        .map((e) => `${e} (ack)`)
        .sort(),
    );
    for (const [key, validate] of payloadValidators(built)) expect(validate, key).toBeTypeOf('function');
  });
});

describe('the AsyncAPI document against a real gateway', () => {
  let cluster: Cluster;
  const recorders: Recorder[] = [];

  beforeAll(async () => {
    cluster = await Cluster.start({ gateways: 1, chats: 1 });
  });
  afterAll(async () => {
    for (const r of recorders) r.socket.close();
    await cluster?.stop();
  });

  it('is served at GET /api/asyncapi.json without a token', async () => {
    const res = await api(cluster.gatewayUrl(0), 'GET', '/api/asyncapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(built);
  });

  it('describes every event and ack of a real session (each validated against its schema)', async () => {
    const url = cluster.gatewayUrl(0);
    const alice: AuthResult = await registerUser(url, 'aaA');
    const bob: AuthResult = await registerUser(url, 'aaB');
    const conversation = (
      await api<Conversation>(url, 'POST', '/api/chats/conversations', {
        token: alice.tokens.access,
        body: { receiver_id: bob.user.id },
      })
    ).body;
    const b = await connectRecorded(url, { token: bob.tokens.access });
    const a = await connectRecorded(url, { token: alice.tokens.access }); // bob gets user:online
    recorders.push(a, b);
    const acks: Array<{ event: string; ack: unknown }> = [];
    const ask = async (r: Recorder, event: string, payload: unknown) => {
      const ack = await request(r.socket, event, payload);
      acks.push({ event, ack });
      return ack;
    };
    const cid = conversation.id;
    await ask(a, 'join-conversation', { conversationId: cid, userId: alice.user.id });
    const joined = (await ask(b, 'join-conversation', { conversationId: cid, userId: bob.user.id })) as {
      version: number;
    };
    const hi = (await ask(a, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: cid,
      message_type: 'text',
      content: 'hi',
      client_message_id: 'aa-1',
    })) as { message: Message };
    const x = (await ask(a, 'send-message', {
      sender_id: alice.user.id,
      conversation_id: cid,
      message_type: 'text',
      content: 'x',
    })) as { message: Message };
    // (before bob sends: sending moves his own read mark)
    await ask(b, 'mark-read', { conversationId: cid, seq: 1 });
    await ask(b, 'mark-read', { conversationId: cid });
    // the message lifecycle: a reply with attachments and metadata, an edit, reactions added and removed, a
    // deletion (each a message-updated to both), and a catch-up by version that holds them
    await ask(b, 'send-message', {
      sender_id: bob.user.id,
      conversation_id: cid,
      message_type: 'text',
      content: '',
      reply_to_id: hi.message.id,
      attachments: [
        {
          type: 'image',
          url: 'https://cdn.example.com/a.png',
          mime_type: 'image/png',
          width: 64,
          height: 48,
        },
        { type: 'file', url: 'https://cdn.example.com/b.pdf', name: 'b.pdf', size: 1234 },
      ],
      metadata: { kind: 'album', tags: ['a'] },
    });
    await ask(a, 'edit-message', { conversationId: cid, messageId: hi.message.id, content: 'hi, edited' });
    await ask(b, 'react', { conversationId: cid, messageId: hi.message.id, emoji: '👍', add: true });
    await ask(a, 'react', { conversationId: cid, messageId: hi.message.id, emoji: '🎉', add: true });
    await ask(b, 'react', { conversationId: cid, messageId: hi.message.id, emoji: '👍', add: false });
    await ask(a, 'delete-message', { conversationId: cid, messageId: x.message.id });
    await a.wait('message-updated', 5);
    await b.wait('message-updated', 5);
    await ask(b, 'join-conversation', {
      conversationId: cid,
      userId: bob.user.id,
      since_version: joined.version,
    });
    await ask(b, 'join-conversation', { conversationId: cid, userId: bob.user.id, since_seq: 1 });
    await ask(b, 'typing', { conversationId: cid, userId: bob.user.id, isTyping: true });
    // refused changes: an ack with an error, and an error event
    await ask(b, 'edit-message', { conversationId: cid, messageId: hi.message.id, content: 'not mine' });
    await ask(b, 'react', { conversationId: cid, messageId: x.message.id, emoji: '👍', add: true });
    await ask(b, 'delete-message', { conversationId: cid, messageId: hi.message.id });
    await ask(b, 'leave-conversation', { conversationId: cid });
    // failures: an ack with an error, plus message-error / error events
    await ask(a, 'send-message', { sender_id: alice.user.id, conversation_id: cid, message_type: 'text' });
    await ask(a, 'join-conversation', { conversationId: 999_999, userId: alice.user.id });
    await ask(a, 'typing', { conversationId: 999_999, userId: alice.user.id, isTyping: false });
    // a group: its system messages arrive as receive-message; bob, removed, gets conversation-removed
    const group = (
      await api<Conversation>(url, 'POST', '/api/chats/conversations', {
        token: alice.tokens.access,
        body: { type: 'group', title: 'AsyncAPI', member_ids: [bob.user.id], metadata: { k: 'v' } },
      })
    ).body;
    await ask(a, 'join-conversation', { conversationId: group.id, userId: alice.user.id });
    await ask(b, 'join-conversation', { conversationId: group.id, userId: bob.user.id });
    await api(url, 'DELETE', `/api/chats/conversations/${group.id}/members/${bob.user.id}`, {
      token: alice.tokens.access,
    });
    await b.wait('conversation-removed');
    await a.wait('receive-message'); // the member_removed system message
    a.socket.close(); // bob gets user:offline
    await b.wait('user:offline');
    await a.wait('message-error');
    await a.wait('error');

    const validators = payloadValidators(built);
    const seen = new Set<string>();
    for (const { event, data } of [...a.events, ...b.events]) {
      const validate = validators.get(eventKey(event));
      expect(validate, `a schema for the event "${event}"`).toBeDefined();
      expect(
        validate!(data),
        `${event}: ${JSON.stringify(validate!.errors)} in ${JSON.stringify(data)}`,
      ).toBe(true);
      seen.add(event);
    }
    for (const { event, ack } of acks) {
      const validate = validators.get(`${eventKey(event)}Ack`)!;
      expect(
        validate(ack),
        `${event} ack: ${JSON.stringify(validate.errors)} in ${JSON.stringify(ack)}`,
      ).toBe(true);
    }
    // the session exercised every server event, so each schema above met real data
    expect([...seen].sort()).toEqual(Object.values(ServerEvent).sort());
    expect(acks.some(({ ack }) => (ack as { success: boolean }).success === false)).toBe(true);
    // each change's ack met real data both ways: its message, and a refusal
    for (const event of ['edit-message', 'delete-message', 'react']) {
      const outcomes = acks
        .filter((x) => x.event === event)
        .map((x) => (x.ack as { success: boolean }).success);
      expect({ event, outcomes: [...new Set(outcomes)].sort() }).toEqual({ event, outcomes: [false, true] });
    }

    // and the schemas are not so loose that anything passes
    const receive = validators.get('receiveMessage')!;
    const [sample] = b.of<Record<string, unknown>>('receive-message');
    expect(receive({ ...sample, seq: '1' })).toBe(false);
    expect(receive({ ...sample, extra: true })).toBe(false);
    const { content: _content, ...withoutContent } = sample!;
    expect(receive(withoutContent)).toBe(false);
    const updated = validators.get('messageUpdated')!;
    const [change] = b.of<{ message: Record<string, unknown>; change: Record<string, unknown> }>(
      'message-updated',
    );
    expect(updated(change)).toBe(true);
    expect(updated({ ...change, change: { ...change!.change, kind: 'renamed' } })).toBe(false);
    const { version: _version, ...withoutVersion } = change!.message;
    expect(updated({ ...change, message: withoutVersion })).toBe(false);
    expect(
      updated({ ...change, message: { ...change!.message, reactions: [{ emoji: '', count: 1 }] } }),
    ).toBe(false);
    // what each change said, in order, to both users
    for (const r of [a, b]) {
      expect(r.of<{ change: { kind: string } }>('message-updated').map((e) => e.change.kind)).toEqual([
        'edited',
        'reaction_added',
        'reaction_added',
        'reaction_removed',
        'deleted',
      ]);
    }
    // the catch-up by version held every message created or changed since the first join, ascending by version
    const caughtUp = b
      .of<{ messages: Message[] }>('recent-messages')
      .find((e) => e.messages.some((m) => m.deleted_at !== null))!;
    expect(caughtUp.messages.map((m) => m.version)).toEqual(
      [...caughtUp.messages.map((m) => m.version)].sort((p, q) => p - q),
    );
    expect(caughtUp.messages.map((m) => m.id).sort()).toEqual(
      [hi.message.id, x.message.id, caughtUp.messages.find((m) => m.sender_id === bob.user.id)!.id].sort(),
    );
  });
});
