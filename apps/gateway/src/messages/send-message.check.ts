import { Limits, messageLimits, type SendMessagePayload } from '@parley/contracts';

/** The fields a plain text message may have; any other field (or a reply, attachments, metadata) takes the full check. */
const PLAIN_FIELDS = new Set([
  'sender_id',
  'conversation_id',
  'message_type',
  'content',
  'client_message_id',
]);

/**
 * The common `send-message`, a plain text message, checked in a few comparisons: the payload itself when it is one
 * that SendMessageDto's class-validator rules accept, else `undefined`, and then those rules run (StrictValidationPipe)
 * and give the contract's exact error. It accepts a subset of what they accept, never more (a test compares the two
 * on random and hostile payloads), so the check can only make a valid send cheaper, never let an invalid one in.
 */
export function plainTextSend(value: unknown): SendMessagePayload | undefined {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return undefined;
  }
  for (const key in value) if (!PLAIN_FIELDS.has(key) || !Object.hasOwn(value, key)) return undefined;
  const v = value as Record<string, unknown>;
  const cmid = v.client_message_id;
  const ok =
    isId(v.sender_id) &&
    isId(v.conversation_id) &&
    v.message_type === 'text' &&
    isText(v.content, 1, messageLimits.contentMaxLength) &&
    (cmid === undefined || isText(cmid, 1, Limits.clientMessageIdMaxLength));
  return ok ? (value as SendMessagePayload) : undefined;
}

function isId(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

/** Storable text (no NUL, no unpaired surrogate) of `min`..`max` UTF-16 code units. */
function isText(value: unknown, min: number, max: number): boolean {
  return (
    typeof value === 'string' &&
    value.length >= min &&
    value.length <= max &&
    !value.includes('\u0000') &&
    value.isWellFormed()
  );
}
