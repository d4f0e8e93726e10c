import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster } from '@parley/testing';
import {
  checkPrerequisites,
  conversationButton,
  launchChromium,
  openPage as openDemoPage,
  register,
  SCREENSHOTS,
  seeMessage,
  type PageGlobals,
} from './demo-page.js';

// The demo page (apps/gateway/public, on the browser SDK) in a real Chromium: two users in two browser contexts,
// each on its own gateway instance (demo-page.ts says where Chromium comes from). PARLEY_UPDATE_SCREENSHOTS=1 writes
// the screenshots to docs/screenshots/ (else to a temp dir).

let cluster: Cluster;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  checkPrerequisites();
  [cluster, browser] = await Promise.all([
    Cluster.start({
      gateways: 2,
      chats: 1,
      gatewayEnv: { RATE_LIMIT_MESSAGES_PER_SECOND: '1000', RATE_LIMIT_MESSAGES_BURST: '1000' },
    }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await cluster?.stop();
});

const openPage = (url: string) => openDemoPage(browser, contexts, url);
const bubbles = (page: Page) => page.locator('#messages li.msg .bubble');

async function presenceOf(page: Page, name: string): Promise<string | null> {
  return conversationButton(page, name).locator('.dot').getAttribute('data-online');
}

describe('the demo page, two users on two gateways', () => {
  it('register, start a conversation, type, exchange messages, read marks, history after a reload, presence', async () => {
    const suffix = Date.now().toString(36);
    const [alice, bob] = [`alice_${suffix}`, `bob_${suffix}`];
    const pageB = await openPage(cluster.gatewayUrl(1));
    await register(pageB, bob, 'Bob');
    const pageA = await openPage(cluster.gatewayUrl(0));
    await register(pageA, alice, 'Alice');

    // Alice starts the conversation by username and writes first. HTML in a message is text, never markup.
    await pageA.locator('#start-username').fill(bob);
    await pageA.getByRole('button', { name: 'Start' }).click();
    await pageA.locator('#chat-title', { hasText: 'Bob' }).waitFor();
    // Both are online: the new contact's presence shows at once, without reconnecting.
    await pageA.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document.querySelector('#chat-presence')?.textContent ===
        'online',
    );
    const hello = 'Hi Bob! <b>not bold</b> <img src=x onerror="window.pwned=1">';
    await pageA.locator('#message-input').fill(hello);
    await pageA.getByRole('button', { name: 'Send' }).click();
    await seeMessage(pageA, hello);

    // Bob's list gets the new conversation with an unread badge; opening it shows the message and reads it.
    await conversationButton(pageB, 'Alice').locator('.badge', { hasText: '1' }).waitFor();
    await conversationButton(pageB, 'Alice').click();
    await seeMessage(pageB, hello);
    expect(await pageB.locator('#messages .bubble b, #messages .bubble img').count()).toBe(0);
    expect(await pageB.evaluate(() => (globalThis as unknown as PageGlobals).pwned)).toBeUndefined();
    await conversationButton(pageB, 'Alice').locator('.badge').waitFor({ state: 'detached' });
    // ...and Alice sees that he has seen it
    await pageA.locator('#messages li.msg.mine .seen', { hasText: 'Seen' }).waitFor();

    // Bob types: Alice sees the indicator, then his message, and the indicator goes away
    await pageB.locator('#message-input').pressSequentially('Hello Alice', { delay: 40 });
    await pageA.locator('#typing', { hasText: 'Bob is typing' }).waitFor();
    await pageB.getByRole('button', { name: 'Send' }).click();
    await seeMessage(pageA, 'Hello Alice');
    await pageA
      .locator('#typing', { hasText: 'typing' })
      .waitFor({ state: 'detached' })
      .catch(async () => {
        expect(await pageA.locator('#typing').textContent()).toBe('');
      });
    expect(await pageA.locator('#typing').textContent()).toBe('');

    // Enough history for paging: 55 more messages over REST, from both
    const tokenOf = (page: Page) =>
      page.evaluate(
        () =>
          (
            JSON.parse(
              (globalThis as unknown as PageGlobals).sessionStorage.getItem('parley.tokens') ?? '{}',
            ) as {
              access: string;
            }
          ).access,
      );
    const tokens = [await tokenOf(pageA), await tokenOf(pageB)];
    const conversationId = Number(/#c(\d+)$/.exec(pageA.url())?.[1]);
    for (let i = 1; i <= 55; i++) {
      const res = await api(
        cluster.gatewayUrl(0),
        'POST',
        `/api/chats/conversations/${conversationId}/messages`,
        {
          token: tokens[i % 2],
          body: { message_type: 'text', content: `history ${i}` },
        },
      );
      expect(res.status).toBe(201);
    }
    await seeMessage(pageB, 'history 55');

    // Bob reloads: a new connection, the latest messages, and presence again (his snapshot shows Alice online).
    await pageB.reload();
    await pageB.locator('#chat-title', { hasText: 'Alice' }).waitFor();
    await seeMessage(pageB, 'history 55');
    // the latest 50 after the reload; older ones on demand
    await pageB.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document.querySelectorAll('#messages .bubble').length === 50,
    );
    expect(await bubbles(pageB).first().textContent()).toBe('history 6');
    await pageB.getByRole('button', { name: 'Load older messages' }).click();
    await seeMessage(pageB, hello);
    expect(await bubbles(pageB).allTextContents()).toEqual([
      hello,
      'Hello Alice',
      ...Array.from({ length: 55 }, (_, i) => `history ${i + 1}`),
    ]);
    await pageB.getByRole('button', { name: 'Load older messages' }).waitFor({ state: 'hidden' });

    await pageA.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document
          .querySelector('#conversations button .dot')
          ?.getAttribute('data-online') === 'true',
    );
    await pageB.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document
          .querySelector('#conversations button .dot')
          ?.getAttribute('data-online') === 'true',
    );
    expect(await presenceOf(pageA, 'Bob')).toBe('true');
    expect(await pageA.locator('#chat-presence').textContent()).toBe('online');
    expect(await presenceOf(pageB, 'Alice')).toBe('true');
    await pageB.locator('#message-input').pressSequentially('See you', { delay: 40 });
    await pageA.locator('#typing', { hasText: 'Bob is typing' }).waitFor();
    await pageA.locator('#messages li.msg.mine .seen', { hasText: 'Seen' }).waitFor();
    await pageA.screenshot({ path: join(SCREENSHOTS, 'demo-chat.png') });

    // Bob leaves: Alice sees him go offline
    await contexts.find((c) => c.pages().includes(pageB))!.close();
    await pageA.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document
          .querySelector('#conversations button .dot')
          ?.getAttribute('data-online') === 'false',
    );

    // Alice's gateway dies: the page says it is reconnecting
    await cluster.gateways[0]!.stop('SIGKILL');
    await pageA.locator('#banner', { hasText: 'Reconnecting' }).waitFor();
    await pageA.screenshot({ path: join(SCREENSHOTS, 'demo-reconnecting.png') });

    for (const page of [pageA, pageB]) {
      const problems = page.problems.filter(
        (p) => !/ERR_CONNECTION_REFUSED|WebSocket connection/.test(p), // the killed gateway
      );
      expect(problems).toEqual([]);
    }
  });
});
