import type { AuthResult, Conversation, ConversationPage, Message, MessagePage } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connectRecorded,
  conversationBetween,
  PrivatePostgres,
  PrivateReplica,
  registerUser,
  request,
  TestDatabase,
} from '@parley/testing';

// DATABASE_READ_URL on a real streaming replica of a private Postgres. Replay paused is replication lag: a client
// must still see what it was acknowledged; replay caught up, the history pages and lists are read on the replica.
let primary: PrivatePostgres;
let replica: PrivateReplica;
let db: TestDatabase;
let cluster: Cluster;
let alice: AuthResult;
let bob: AuthResult;
let conversation: Conversation;

beforeAll(async () => {
  primary = await new PrivatePostgres().init();
  replica = await new PrivateReplica(primary).start();
  // Created and migrated on the primary by the cluster's `migrate`; it goes with the private servers.
  db = new TestDatabase(primary.adminUrl);
  cluster = await Cluster.start({
    database: db,
    env: { DATABASE_READ_URL: replica.url(db.name), DB_REPLICA_WAIT_MS: '50' },
  });
  alice = await registerUser(cluster.gatewayUrl(), 'ra');
  bob = await registerUser(cluster.gatewayUrl(), 'rb');
  conversation = await conversationBetween(cluster.gatewayUrl(), alice, bob);
});
afterAll(async () => {
  await cluster?.stop();
  await db?.drop().catch(() => undefined);
  await replica?.destroy();
  await primary?.destroy();
});

const served = (by: 'replica' | 'primary') =>
  cluster.chats[0]!.metric('parley_db_replica_eligible_reads_total', { served_by: by });

function history(user: AuthResult, query = '') {
  return api<MessagePage>(
    cluster.gatewayUrl(),
    'GET',
    `/api/chats/conversations/${conversation.id}/messages${query}`,
    { token: user.tokens.access },
  );
}

function list(user: AuthResult) {
  return api<ConversationPage>(cluster.gatewayUrl(), 'GET', '/api/chats/conversations', {
    token: user.tokens.access,
  });
}

describe('a read replica (DATABASE_READ_URL)', () => {
  it('never shows a client less than it was acknowledged, while the replica lags', async () => {
    await replica.caughtUp();
    await replica.pause();
    try {
      const primaryReadsBefore = await served('primary');
      const a = await connectRecorded(cluster.gatewayUrl(), { token: alice.tokens.access });
      const ack = await request<{ success: boolean; message: Message }>(a.socket, 'send-message', {
        sender_id: alice.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: 'sent while the replica lags',
        client_message_id: 'lag-1',
      });
      expect(ack.success).toBe(true);
      const sent = ack.message;

      // The replica really lags: it has not got the message.
      expect(await replica.query('SELECT id FROM messages WHERE id = $1', [sent.id], db.name)).toHaveLength(
        0,
      );

      // History pages, the conversation list and catch-up by seq all show it, to the sender and the receiver.
      for (const user of [alice, bob]) {
        const page = await history(user);
        expect(page.status).toBe(200);
        expect(page.body.messages.map((m) => m.id)).toContain(sent.id);
        const conversations = await list(user);
        expect(conversations.status).toBe(200);
        const row = conversations.body.conversations.find((c) => c.id === conversation.id);
        expect(row?.last_message?.id).toBe(sent.id);
        const after = await history(user, `?after_seq=${sent.seq - 1}`);
        expect(after.body.messages.map((m) => m.id)).toEqual([sent.id]);
      }
      const b = await connectRecorded(cluster.gatewayUrl(), { token: bob.tokens.access });
      const join = await request<{ success: boolean; last_seq: number }>(b.socket, 'join-conversation', {
        conversationId: conversation.id,
        userId: bob.user.id,
        since_seq: sent.seq - 1,
      });
      expect(join).toMatchObject({ success: true, last_seq: sent.seq });
      const [recent] = await b.wait<{ messages: Message[] }>('recent-messages');
      expect(recent!.messages.map((m) => m.id)).toEqual([sent.id]);
      a.socket.close();
      b.socket.close();

      // The eligible reads (2 history pages, 2 lists) went to the primary.
      expect((await served('primary')) - primaryReadsBefore).toBeGreaterThanOrEqual(4);
    } finally {
      await replica.resume();
    }
  });

  it('reads history pages and conversation lists on the replica once it has caught up', async () => {
    await replica.caughtUp();
    const before = await served('replica');
    for (let i = 0; i < 5; i++) {
      const page = await history(alice);
      expect(page.body.messages.map((m) => m.content)).toContain('sent while the replica lags');
      expect((await list(bob)).body.conversations.map((c) => c.id)).toContain(conversation.id);
    }
    expect((await served('replica')) - before).toBe(10);
    // The replica's own view: the chats service's replica pool is connected to this database there.
    const backends = await replica.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parley-chats-replica'`,
      [db.name],
    );
    expect(backends[0]!.n).toBeGreaterThan(0);
  });
});
