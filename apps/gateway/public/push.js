/* global navigator, window, fetch, Notification, console */
// Web Push in the demo (docs/integrations.md, "Web Push"): registers the service worker; when the deployment has push on (the VAPID
// public key is served), offers to enable notifications and registers this browser's subscription. Every step
// is optional: a browser without service workers or push, or a deployment without push, just shows no button.

let registration = null;

async function call(getToken, method, path, body) {
  const token = await getToken();
  return fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

function keyBytes(base64url) {
  const text = window.atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Sets up push for the signed-in user; `button` is shown while notifications can be enabled. */
export async function setUpPush(getToken, button) {
  button.hidden = true;
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return;
  try {
    registration = await navigator.serviceWorker.register('/sw.js');
    const res = await call(getToken, 'GET', '/api/push/public-key');
    const { public_key: publicKey } = res.ok ? await res.json() : {};
    if (!publicKey) return; // push is off on this deployment
    const existing = await registration.pushManager.getSubscription();
    if (existing && Notification.permission === 'granted') {
      // Registered again on every sign-in: this device now notifies this user (it may have been another's).
      await call(getToken, 'POST', '/api/push/subscriptions', existing.toJSON());
      return;
    }
    if (Notification.permission === 'denied') return;
    button.hidden = false;
    button.onclick = async () => {
      button.disabled = true;
      try {
        if ((await Notification.requestPermission()) !== 'granted') return;
        const subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(publicKey),
        });
        const saved = await call(getToken, 'POST', '/api/push/subscriptions', subscription.toJSON());
        if (saved.ok) button.hidden = true;
      } catch (err) {
        console.warn('parley: notifications could not be enabled:', err.message);
      } finally {
        button.disabled = false;
      }
    };
  } catch (err) {
    console.warn('parley: push is not available:', err.message);
  }
}

/** On log out: this device stops notifying the user (the browser keeps its subscription for the next sign-in). */
export async function stopPush(getToken) {
  try {
    const subscription = await registration?.pushManager.getSubscription();
    if (subscription)
      await call(getToken, 'DELETE', '/api/push/subscriptions', { endpoint: subscription.endpoint });
  } catch {
    // Signed out anyway; a stale subscription is refused by the server's next send, or replaced on sign-in.
  }
}
