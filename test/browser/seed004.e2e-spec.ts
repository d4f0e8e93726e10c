import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthResult, Message } from '@parley/contracts';
import {
  api,
  Cluster,
  connectRecorded,
  conversationBetween,
  REPO_ROOT,
  request,
  waitFor,
} from '@parley/testing';
import { checkPrerequisites, launchChromium, openPage } from './demo-page.js';

// Seed 004's vanilla JavaScript ChatClient (test/compat/clients/seed004-client.js, the seed's code verbatim) in a
// real Chromium, on a page of the gateway's origin: it logs in by e-mail with the seed's Quick Start, connects to
// /ws/chat/<peer>/ with ?token=, and chats with a Socket.IO client of the peer on the other gateway.

let cluster: Cluster;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** The seed's client code as a classic script (the module's `export`s dropped; a class is no global by itself). */
const SEED_CLIENT = `${readFileSync(`${REPO_ROOT}test/compat/clients/seed004-client.js`, 'utf8').replace(
  /^export /gm,
  '',
)}\nwindow.ChatClient = ChatClient;`;

beforeAll(async () => {
  checkPrerequisites();
  [cluster, browser] = await Promise.all([
    Cluster.start({ gateways: 2, chats: 1, gatewayEnv: { COMPAT_BARE_PATHS: '004' } }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await cluster?.stop();
});

interface SeedPage {
  received: { content: string; senderId: number; isPrevious: boolean }[];
  statuses: boolean[];
  chat: { sendMessage(text: string): boolean; disconnect(): void };
}

describe("seed 004's vanilla client in Chromium", () => {
  it('logs in by e-mail, gets the previous messages, and chats both ways with a Socket.IO client on another gateway', async () => {
    const suffix = Date.now().toString(36);
    const email = `browser.${suffix}@example.com`;
    const reg = await api<AuthResult>(cluster.gatewayUrl(0), 'POST', '/api/auth/register', {
      body: { username: `br${suffix}`, password: 'correct horse battery', email },
    });
    expect(reg.status).toBe(201);
    const peer = (
      await api<AuthResult>(cluster.gatewayUrl(1), 'POST', '/api/auth/register', {
        body: { username: `bp${suffix}`, password: 'correct horse battery' },
      })
    ).body;
    const conversation = await conversationBetween(cluster.gatewayUrl(1), peer, reg.body);
    const peerSocket = await connectRecorded(cluster.gatewayUrl(1), { token: peer.tokens.access });
    await request(peerSocket.socket, 'join-conversation', {
      conversationId: conversation.id,
      userId: peer.user.id,
    });
    const sent = await request<{ success: boolean }>(peerSocket.socket, 'send-message', {
      sender_id: peer.user.id,
      conversation_id: conversation.id,
      message_type: 'text',
      content: 'before you came',
    });
    expect(sent.success).toBe(true);

    const page = await openPage(browser, contexts, `${cluster.gatewayUrl(0)}/`);
    await page.addScriptTag({ content: SEED_CLIENT });
    // The seed's Quick Start and its ChatClient, run by the page itself.
    await page.evaluate(
      async ({ email, peerId, myId }) => {
        const g = globalThis as unknown as {
          login(email: string, password: string): Promise<{ access: string }>;
          ChatClient: new (
            peer: number,
            token: string,
            me: number,
          ) => SeedPage['chat'] & {
            onMessage(f: (m: unknown) => void): void;
            onStatusChange(f: (s: boolean) => void): void;
            connect(): void;
          };
          seed: SeedPage;
        };
        const tokens = await g.login(email, 'correct horse battery');
        const chat = new g.ChatClient(peerId, tokens.access, myId);
        g.seed = { received: [], statuses: [], chat };
        chat.onMessage((m) => g.seed.received.push(m as SeedPage['received'][number]));
        chat.onStatusChange((s) => g.seed.statuses.push(s));
        chat.connect();
      },
      { email, peerId: peer.user.id, myId: reg.body.user.id },
    );
    const seed = () => page.evaluate(() => (globalThis as unknown as { seed: Omit<SeedPage, 'chat'> }).seed);
    await waitFor('the previous message in the page', async () => (await seed()).received.length >= 1);
    expect((await seed()).statuses).toEqual([true]);
    expect((await seed()).received[0]).toMatchObject({
      content: 'before you came',
      senderId: peer.user.id,
      isPrevious: true,
    });

    for (let i = 0; i < 5; i++) {
      expect(
        await page.evaluate(
          (t) => (globalThis as unknown as { seed: SeedPage }).seed.chat.sendMessage(t),
          `from the browser ${i}`,
        ),
      ).toBe(true);
      await request(peerSocket.socket, 'send-message', {
        sender_id: peer.user.id,
        conversation_id: conversation.id,
        message_type: 'text',
        content: `from node ${i}`,
      });
    }
    await waitFor('11 messages in the page', async () => (await seed()).received.length >= 11);
    const received = (await seed()).received.filter((m) => !m.isPrevious);
    expect(received.filter((m) => m.senderId === reg.body.user.id).map((m) => m.content)).toEqual(
      Array.from({ length: 5 }, (_, i) => `from the browser ${i}`),
    );
    expect(received.filter((m) => m.senderId === peer.user.id).map((m) => m.content)).toEqual(
      Array.from({ length: 5 }, (_, i) => `from node ${i}`),
    );
    await waitFor(
      'the browser messages on the Socket.IO side',
      () => peerSocket.of('receive-message').length >= 5,
    );
    expect(peerSocket.of<Message>('receive-message').map((m) => m.content)).toEqual(
      Array.from({ length: 5 }, (_, i) => `from the browser ${i}`),
    );
    expect(page.problems).toEqual([]);
    peerSocket.socket.close();
  });
});
