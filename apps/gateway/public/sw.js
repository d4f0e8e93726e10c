/* global self, clients, URL */
// Parley demo's service worker: shows Web Push notifications (docs/integrations.md, "Web Push") and opens the conversation on click.
// One notification per conversation (`tag`): a newer one replaces the older instead of stacking up.

self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || data.type !== 'message.new') return;
  event.waitUntil(
    self.registration.showNotification(String(data.title || 'Parley'), {
      body: String(data.body || ''),
      tag: `conversation-${Number(data.conversation_id)}`,
      renotify: true,
      data: { conversationId: Number(data.conversation_id) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = Number(event.notification.data?.conversationId);
  const url = new URL(Number.isSafeInteger(id) && id > 0 ? `/#c${id}` : '/', self.location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await clients.matchAll({ type: 'window', includeUncontrolled: true });
      const page = open.find((c) => new URL(c.url).origin === self.location.origin);
      if (page) {
        await page.focus();
        if ('navigate' in page) await page.navigate(url);
        return;
      }
      await clients.openWindow(url);
    })(),
  );
});
