import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com): a request carries `webhook-id` (the event's id, the same on
// every attempt), `webhook-timestamp` (this attempt's Unix time in seconds) and `webhook-signature`, `v1,` and the
// base64 HMAC-SHA256 of `<id>.<timestamp>.<raw body>` keyed with the secret's bytes. docs/integrations.md shows a
// receiver's check.

const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: `whsec_` and the base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** The headers that sign `body` for the event `id` at `timestamp` (seconds). */
export function signatureHeaders(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signature}`,
  };
}
