import type { AuthResult } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  Cluster,
  connect,
  connectRecorded,
  Recorder,
  registerUser,
  sleep,
  waitFor,
  type ChatClient,
} from '@parley/testing';

// Presence across gateway instances and devices, with real processes.
let cluster: Cluster;
let gw: [string, string];
const opened: ChatClient[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, chats: 1 });
  gw = [cluster.gatewayUrl(0), cluster.gatewayUrl(1)];
});
afterAll(async () => {
  for (const s of opened) s.close();
  await cluster?.stop();
});

async function open(url: string, user: AuthResult): Promise<ChatClient> {
  const s = await connect(url, { token: user.tokens.access });
  opened.push(s);
  return s;
}

async function watch(url: string, user: AuthResult): Promise<Recorder> {
  const r = await connectRecorded(url, { token: user.tokens.access });
  opened.push(r.socket);
  return r;
}

async function contacts(...users: AuthResult[]): Promise<void> {
  for (let i = 1; i < users.length; i++) {
    await api(gw[0], 'POST', '/api/chats/conversations', {
      token: users[0]!.tokens.access,
      body: { receiver_id: users[i]!.user.id },
    });
  }
}

type Presence = { event: string; userId: number };
/**
 * The presence changes a socket saw of one user. Presence events are state, not deltas (docs/protocol.md): the
 * connect snapshot and a live event can both say "online" when a contact connects at the same moment, so a repeat
 * of the state just seen is not a change.
 */
const presenceOf = (r: Recorder, userId: number): Presence[] =>
  r.events
    .filter((e) => e.event === 'user:online' || e.event === 'user:offline')
    .map((e) => ({ event: e.event, userId: (e.data as { userId: number }).userId }))
    .filter((p) => p.userId === userId)
    .filter((p, i, all) => i === 0 || all[i - 1]!.event !== p.event);

describe('presence', () => {
  it('announces the first socket, not a second tab, not the first tab closing, then the last socket closing', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'pA'), registerUser(gw[1], 'pB')]);
    await contacts(alice, bob);
    const watcher = await watch(gw[1], bob);

    const tab1 = await open(gw[0], alice);
    await waitFor('user:online for alice', () => presenceOf(watcher, alice.user.id).length === 1);
    // A socket is connected before its gateway has recorded it in presence; its snapshot of online contacts comes
    // after that record, so wait for it before closing the first tab (else the two race, and a flap is correct).
    const tab2 = await watch(gw[1], alice);
    await waitFor('the second tab is registered', () => presenceOf(tab2, bob.user.id).length === 1);
    tab1.close();
    await sleep(1000);
    expect(presenceOf(watcher, alice.user.id)).toEqual([{ event: 'user:online', userId: alice.user.id }]);

    tab2.socket.close();
    await waitFor('user:offline for alice', () => presenceOf(watcher, alice.user.id).length === 2);
    expect(presenceOf(watcher, alice.user.id)[1]).toEqual({ event: 'user:offline', userId: alice.user.id });
  });

  it('tells a connecting socket which contacts are online, and tells nobody outside the user’s conversations', async () => {
    const [alice, bob, stranger] = await Promise.all([
      registerUser(gw[0], 'sA'),
      registerUser(gw[1], 'sB'),
      registerUser(gw[1], 'sS'),
    ]);
    await contacts(alice, bob);
    const strangerRec = await watch(gw[0], stranger);
    await open(gw[0], alice);
    const bobRec = await watch(gw[1], bob);
    await waitFor('the snapshot of who is online', () => presenceOf(bobRec, alice.user.id).length >= 1);
    // Presence events are state, not deltas: when bob connects just as alice does, he may hear it twice.
    expect(new Set(presenceOf(bobRec, alice.user.id).map((p) => p.event))).toEqual(new Set(['user:online']));
    await sleep(500);
    expect(presenceOf(strangerRec, alice.user.id)).toEqual([]);
    expect(presenceOf(strangerRec, bob.user.id)).toEqual([]);
  });

  it('tells two online users about each other as soon as one starts a conversation with the other', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'nA'), registerUser(gw[1], 'nB')]);
    // Both online, on different gateways, each having looked up (and cached) their contacts: none yet.
    const aliceRec = await watch(gw[0], alice);
    const bobRec = await watch(gw[1], bob);
    await sleep(300);
    expect(presenceOf(aliceRec, bob.user.id)).toEqual([]);

    await contacts(alice, bob);
    await waitFor('alice hears bob is online', () => presenceOf(aliceRec, bob.user.id).length === 1);
    await waitFor('bob hears alice is online', () => presenceOf(bobRec, alice.user.id).length === 1);
    expect(presenceOf(aliceRec, bob.user.id)).toEqual([{ event: 'user:online', userId: bob.user.id }]);

    // Bob's gateway had cached "no contacts" for him: his going offline must still reach alice.
    bobRec.socket.close();
    await waitFor('alice hears bob went offline', () => presenceOf(aliceRec, bob.user.id).length === 2);
    expect(presenceOf(aliceRec, bob.user.id)[1]).toEqual({ event: 'user:offline', userId: bob.user.id });
  });

  it('ends in the right state after a storm of connects and disconnects across instances', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'rA'), registerUser(gw[1], 'rB')]);
    await contacts(alice, bob);
    const watcher = await watch(gw[0], bob);
    for (let round = 0; round < 5; round++) {
      // Tabs opening and closing at once on both instances.
      const tabs = await Promise.all(
        Array.from({ length: 6 }, (_, i) => connect(gw[i % 2]!, { token: alice.tokens.access })),
      );
      tabs.slice(0, 5).forEach((t) => t.close());
      await sleep(50);
      tabs[5]!.close();
    }
    const last = await open(gw[1], alice); // finally online
    await sleep(1500);
    const seen = presenceOf(watcher, alice.user.id);
    expect(seen.at(-1)).toEqual({ event: 'user:online', userId: alice.user.id });
    last.close();
    await waitFor(
      'the final user:offline',
      () => presenceOf(watcher, alice.user.id).at(-1)?.event === 'user:offline',
    );
  });

  it('marks the users of a gateway killed with SIGKILL offline within 60 s', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'kA'), registerUser(gw[1], 'kB')]);
    await contacts(alice, bob);
    const doomed = await cluster.startGateway();
    const watcher = await watch(gw[1], bob);
    await open(doomed.url, alice);
    await waitFor('alice online', () => presenceOf(watcher, alice.user.id).length === 1);
    const killedAt = Date.now();
    await doomed.stop('SIGKILL');
    await waitFor('alice offline', () => presenceOf(watcher, alice.user.id).length === 2, 60_000, 100);
    console.log(
      `offline announced ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the gateway was killed`,
    );
    expect(presenceOf(watcher, alice.user.id)[1]!.event).toBe('user:offline');
  });

  it('drains on SIGTERM: sockets are told to reconnect, no flap for users who do, and the process exits', async () => {
    const [alice, bob] = await Promise.all([registerUser(gw[0], 'dA'), registerUser(gw[1], 'dB')]);
    await contacts(alice, bob);
    const leaving = await cluster.startGateway();
    const watcher = await watch(gw[1], bob);
    const onLeaving = await open(leaving.url, alice);
    await waitFor('alice online', () => presenceOf(watcher, alice.user.id).length === 1);
    // A real client reconnects when its transport closes; here it reconnects to the instance that stays.
    const reason = new Promise<string>((resolve) =>
      onLeaving.on('disconnect', (why) => {
        void open(gw[0], alice);
        resolve(why);
      }),
    );
    const exit = leaving.stop('SIGTERM');
    expect(await reason).toBe('transport close'); // not "io server disconnect", which would stop a client reconnecting
    // New handshakes are refused while it drains, so a load balancer sends them elsewhere.
    const handshake = await fetch(`${leaving.url}/socket.io/?EIO=4&transport=polling`).catch(() => undefined);
    if (handshake) expect(handshake.status).toBe(503);
    expect(await exit).toBe(0); // a clean exit after the drain, not a signal
    await sleep(1000);
    expect(presenceOf(watcher, alice.user.id)).toEqual([{ event: 'user:online', userId: alice.user.id }]);
  });
});
