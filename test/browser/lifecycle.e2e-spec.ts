import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '@parley/testing';
import {
  checkPrerequisites,
  conversationButton,
  launchChromium,
  openPage as openDemoPage,
  register,
  SCREENSHOTS,
  seeMessage,
  type DemoPage,
} from './demo-page.js';

// The message lifecycle on the demo page: two users on two gateways react, edit, reply, attach an image by URL and
// delete, and each page shows the other's changes as they happen (and after a reload).

let cluster: Cluster;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** The image an attachment points at, served to the pages by the test (no network needed). */
const IMAGE_URL = 'https://images.parley.test/pic.svg';
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="#2459c9"/></svg>';

beforeAll(async () => {
  checkPrerequisites();
  [cluster, browser] = await Promise.all([Cluster.start({ gateways: 2, chats: 1 }), launchChromium()]);
});
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await cluster?.stop();
});

async function openPage(url: string): Promise<DemoPage> {
  const page = await openDemoPage(browser, contexts, url);
  await page.route('https://images.parley.test/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/svg+xml', body: SVG }),
  );
  return page;
}

/** The message whose bubble says `text`. */
const messageWith = (page: Page, text: string) =>
  page.locator('#messages li.msg', { has: page.locator('.bubble', { hasText: text }) });

async function act(page: Page, text: string, action: string): Promise<void> {
  const message = messageWith(page, text);
  await message.hover();
  await message.getByRole('button', { name: action, exact: true }).click();
}

describe('the demo page: edit, react, reply, attach, delete', () => {
  it('each change shows on both pages, live and after a reload', async () => {
    const suffix = Date.now().toString(36);
    const [alice, bob] = [`alice_${suffix}`, `bob_${suffix}`];
    const pageA = await openPage(cluster.gatewayUrl(0));
    const pageB = await openPage(cluster.gatewayUrl(1));
    await register(pageA, alice, 'Alice');
    await register(pageB, bob, 'Bob');
    await pageA.locator('#start-username').fill(bob);
    await pageA.getByRole('button', { name: 'Start' }).click();
    await pageA.locator('#chat-title', { hasText: 'Bob' }).waitFor();
    await pageA.locator('#message-input').fill('Lunch at noon?');
    await pageA.getByRole('button', { name: 'Send' }).click();
    await seeMessage(pageA, 'Lunch at noon?');
    await conversationButton(pageB, 'Alice').click();
    await seeMessage(pageB, 'Lunch at noon?');

    // Bob reacts from the picker: both see the count, his own is highlighted on his page only.
    await act(pageB, 'Lunch at noon?', 'React');
    await messageWith(pageB, 'Lunch at noon?')
      .locator('.picker')
      .getByRole('button', { name: '👍', exact: true })
      .click();
    await messageWith(pageB, 'Lunch at noon?')
      .locator('.reaction[aria-pressed="true"]', { hasText: '👍 1' })
      .waitFor();
    await messageWith(pageA, 'Lunch at noon?')
      .locator('.reaction[aria-pressed="false"]', { hasText: '👍 1' })
      .waitFor();
    // Alice adds hers by clicking his: 2, pressed for her too.
    await messageWith(pageA, 'Lunch at noon?').locator('.reaction', { hasText: '👍 1' }).click();
    await messageWith(pageA, 'Lunch at noon?')
      .locator('.reaction[aria-pressed="true"]', { hasText: '👍 2' })
      .waitFor();
    await messageWith(pageB, 'Lunch at noon?').locator('.reaction', { hasText: '👍 2' }).waitFor();

    // Alice edits her message; Bob sees the new text, marked edited. Bob cannot edit hers.
    expect(await messageWith(pageB, 'Lunch at noon?').getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await act(pageA, 'Lunch at noon?', 'Edit');
    await pageA.locator('#composer-context', { hasText: 'Editing your message' }).waitFor();
    expect(await pageA.locator('#message-input').inputValue()).toBe('Lunch at noon?');
    await pageA.locator('#message-input').fill('Lunch at one?');
    await pageA.getByRole('button', { name: 'Save' }).click();
    await seeMessage(pageB, 'Lunch at one?');
    await messageWith(pageB, 'Lunch at one?').locator('.meta', { hasText: 'edited' }).waitFor();
    await messageWith(pageB, 'Lunch at one?').locator('.reaction', { hasText: '👍 2' }).waitFor(); // kept

    // Bob replies: the reply quotes the message on both pages.
    await act(pageB, 'Lunch at one?', 'Reply');
    await pageB.locator('#composer-context', { hasText: 'Replying to Alice: Lunch at one?' }).waitFor();
    await pageB.locator('#message-input').fill('Sure!');
    await pageB.getByRole('button', { name: 'Send' }).click();
    await messageWith(pageA, 'Sure!').locator('.quote', { hasText: 'You: Lunch at one?' }).waitFor();
    await messageWith(pageB, 'Sure!').locator('.quote', { hasText: 'Alice: Lunch at one?' }).waitFor();
    await pageB.locator('#composer-context').waitFor({ state: 'hidden' });

    // Alice attaches an image by URL (only http(s) is taken); both pages preview it.
    await pageA.locator('#attach-toggle').click();
    await pageA.locator('#attach-url').fill('javascript:alert(1)');
    await pageA.locator('#message-input').fill('The place');
    await pageA.getByRole('button', { name: 'Send' }).click();
    await pageA.locator('#send-error', { hasText: 'Not an http(s) URL' }).waitFor();
    await pageA.locator('#attach-url').fill(IMAGE_URL);
    await pageA.getByRole('button', { name: 'Send' }).click();
    for (const page of [pageA, pageB]) {
      const img = messageWith(page, 'The place').locator(`a.attachment.image img[src="${IMAGE_URL}"]`);
      await img.waitFor();
      await page.waitForFunction(
        (el) => (el as unknown as { naturalWidth: number }).naturalWidth > 0,
        await img.elementHandle(),
      );
      expect(await messageWith(page, 'The place').locator('a.attachment').getAttribute('rel')).toBe(
        'noopener noreferrer',
      );
    }
    await messageWith(pageB, 'Lunch at one?').hover(); // its actions show
    await pageB.screenshot({ path: join(SCREENSHOTS, 'demo-lifecycle.png'), animations: 'disabled' });

    // Alice deletes her first message (one click to ask, one to confirm): a tombstone on both pages, and the
    // reply's quote says so.
    await act(pageA, 'Lunch at one?', 'Delete');
    await messageWith(pageA, 'Lunch at one?').getByRole('button', { name: 'Confirm delete' }).click();
    for (const page of [pageA, pageB]) {
      await page
        .locator('#messages li.msg .bubble.tombstone', { hasText: 'This message was deleted' })
        .waitFor();
      await messageWith(page, 'Sure!').locator('.quote', { hasText: 'Message deleted' }).waitFor();
      expect(await page.locator('#messages .reaction').count()).toBe(0);
    }
    // Bob may not delete Alice's messages (a direct conversation has no moderators)
    expect(await messageWith(pageB, 'The place').getByRole('button', { name: 'Delete' }).count()).toBe(0);

    // After a reload, the page shows the same from the server's state.
    await pageB.reload();
    await pageB.locator('#conn[data-state="connected"]').waitFor();
    await pageB.locator('#messages li.msg .bubble.tombstone').waitFor();
    await seeMessage(pageB, 'Sure!');
    await messageWith(pageB, 'The place').locator(`img[src="${IMAGE_URL}"]`).waitFor();

    for (const page of [pageA, pageB]) expect(page.problems).toEqual([]);
  });
});
