import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, sleep } from '@parley/testing';
import {
  checkPrerequisites,
  conversationButton,
  countMessages,
  launchChromium,
  openPage as openDemoPage,
  register,
  SCREENSHOTS,
  seeMessage,
  type DemoPage,
  type PageGlobals,
} from './demo-page.js';

// A group on the demo page: three users in three browser contexts, the owner on one gateway and the others on the
// second. One creates the group by usernames, all see it, messages reach every page once, "seen by" follows the
// reads, the owner removes a member, whose page drops the group and gets nothing of it any more. Also a block
// and a mute, which the page offers on every conversation.

let cluster: Cluster;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  checkPrerequisites();
  [cluster, browser] = await Promise.all([Cluster.start({ gateways: 2, chats: 1 }), launchChromium()]);
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await cluster?.stop();
});

const openPage = (url: string) => openDemoPage(browser, contexts, url);

async function send(page: DemoPage, text: string): Promise<void> {
  await page.locator('#message-input').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await seeMessage(page, text);
}

/** Every page shows each text exactly once (after a pause, so that a late duplicate would show too). */
async function onceEach(pages: DemoPage[], texts: string[]): Promise<void> {
  for (const page of pages) for (const text of texts) await seeMessage(page, text);
  await sleep(500);
  for (const page of pages) {
    for (const text of texts) expect(await countMessages(page, text), text).toBe(1);
  }
}

describe('the demo page: a group of three on two gateways', () => {
  it('create by usernames, everyone sees it and every message once, "seen by", a member removed, block, mute', async () => {
    const suffix = Date.now().toString(36);
    const [alice, bob, carol] = [`alice_${suffix}`, `bob_${suffix}`, `carol_${suffix}`];
    const pageA = await openPage(cluster.gatewayUrl(0));
    const pageB = await openPage(cluster.gatewayUrl(1));
    const pageC = await openPage(cluster.gatewayUrl(1));
    await register(pageA, alice, 'Alice');
    await register(pageB, bob, 'Bob');
    await register(pageC, carol, 'Carol');

    // Alice creates the group by usernames; the page opens it, with the system message that records it.
    await pageA.locator('#group-title').fill('Weekend');
    await pageA.locator('#group-members').fill(`${bob}, ${carol}`);
    await pageA.getByRole('button', { name: 'Create' }).click();
    await pageA.locator('#chat-title', { hasText: 'Weekend' }).waitFor();
    await pageA.locator('#chat-presence', { hasText: '3 members' }).waitFor();
    await pageA
      .locator('#messages li.msg.system', { hasText: 'Alice created the group "Weekend"' })
      .waitFor();

    // Bob and Carol see it in their lists at once (conversation-updated in their user rooms), and open it.
    for (const page of [pageB, pageC]) {
      await conversationButton(page, 'Weekend').click();
      await page.locator('#chat-title', { hasText: 'Weekend' }).waitFor();
      await page.locator('#messages li.msg.system', { hasText: 'created the group' }).waitFor();
    }

    // The member list, with roles
    await pageA.getByRole('button', { name: 'Members' }).click();
    await pageA.locator('#member-list li', { hasText: 'Carol' }).waitFor();
    const rows = await pageA.locator('#member-list li').allTextContents();
    // the owner may remove both members; nobody removes the owner
    expect(rows.map((r) => r.replace(/\s+/g, ' ').trim())).toEqual(
      expect.arrayContaining(['You owner', 'Bob member Remove', 'Carol member Remove']),
    );
    expect(rows).toHaveLength(3);

    // Messages from two of them, crossing gateways: every page shows each once, in the same order.
    await send(pageA, 'Hello from Alice');
    await send(pageB, 'Hello from Bob');
    await onceEach([pageA, pageB, pageC], ['Hello from Alice', 'Hello from Bob']);
    for (const page of [pageA, pageB, pageC]) {
      const texts = await page.locator('#messages li.msg .bubble').allTextContents();
      expect(texts).toEqual(['Hello from Alice', 'Hello from Bob']);
    }

    // Seen by: Bob and Carol have the group open, so they read; Alice sees who did, under her message.
    await pageA.locator('#messages li.msg.mine .seen', { hasText: 'Seen by everyone' }).waitFor();
    await pageB.locator('#messages li.msg.mine .seen', { hasText: 'Seen by everyone' }).waitFor();
    await pageA.screenshot({ path: join(SCREENSHOTS, 'demo-group.png') });

    // Alice removes Carol (on the other gateway): Carol's page drops the group at once.
    await pageA.getByRole('button', { name: 'Remove Carol' }).click();
    await pageC.locator('#chat-removed').waitFor();
    await conversationButton(pageC, 'Weekend').waitFor({ state: 'detached' });
    await pageA.locator('#messages li.msg.system', { hasText: 'Alice removed Carol' }).waitFor();
    await pageB.locator('#messages li.msg.system', { hasText: 'Alice removed Carol' }).waitFor();
    await pageA.locator('#chat-presence', { hasText: '2 members' }).waitFor();
    await pageA.locator('#member-list li', { hasText: 'Carol' }).waitFor({ state: 'detached' });

    // ...and gets nothing of it any more, live or after a reload.
    await send(pageA, 'Carol is gone');
    await send(pageB, 'Indeed');
    await onceEach([pageA, pageB], ['Carol is gone', 'Indeed']);
    // Seen by everyone is Bob alone now.
    await pageB.locator('#messages li.msg.mine .seen', { hasText: 'Seen by everyone' }).waitFor();
    const carolSees = () =>
      pageC.evaluate(() => (globalThis as unknown as PageGlobals).document.body.textContent ?? '');
    expect(await carolSees()).not.toMatch(/Carol is gone|Indeed|Weekend/);
    await pageC.reload();
    await pageC.locator('#conn[data-state="connected"]').waitFor();
    await sleep(300);
    expect(await carolSees()).not.toMatch(/Carol is gone|Indeed|Weekend/);

    // Mute: a tag in the list; unmute takes it away.
    await pageB.getByRole('button', { name: 'Mute' }).click();
    await conversationButton(pageB, 'Weekend').locator('.tag', { hasText: 'muted' }).waitFor();
    await pageB.getByRole('button', { name: 'Unmute' }).click();
    await conversationButton(pageB, 'Weekend').locator('.tag').waitFor({ state: 'detached' });

    // Block: Carol blocks Bob in their direct conversation; nothing goes through until she unblocks him.
    await pageC.locator('#start-username').fill(bob);
    await pageC.getByRole('button', { name: 'Start' }).click();
    await pageC.locator('#chat-title', { hasText: 'Bob' }).waitFor();
    await pageC.getByRole('button', { name: 'Block' }).click();
    await pageC.locator('#chat-presence', { hasText: 'blocked' }).waitFor();
    await pageC.locator('#message-input').fill('Are you there?');
    await pageC.getByRole('button', { name: 'Send' }).click();
    await pageC.locator('#send-error', { hasText: 'You cannot message this user' }).waitFor();
    await pageC.getByRole('button', { name: 'Unblock' }).click();
    await pageC.locator('#chat-presence', { hasText: /online|offline/ }).waitFor();
    await send(pageC, 'Are you there?');
    await conversationButton(pageB, 'Carol').click();
    await seeMessage(pageB, 'Are you there?');

    for (const page of [pageA, pageB, pageC]) expect(page.problems).toEqual([]);
  });
});
