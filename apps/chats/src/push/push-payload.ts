import type { Message, PushMessagePayload } from '@parley/contracts';

/** What a notification says about a message that has no text of its own. */
function fallbackBody(message: Message): string {
  if (message.message_type === 'image') return 'Sent an image';
  if (message.message_type === 'file') return 'Sent a file';
  return message.attachments.length > 0 ? 'Sent an attachment' : 'New message';
}

/**
 * The JSON a notification carries, at most `maxBytes` of UTF-8: the preview (`body`) is cut, on a code point, with
 * an ellipsis, until it fits. Only the content is cut; the title is bounded by the contract (names, titles).
 */
export function pushPayload(
  message: Message,
  sender: { username: string; display_name: string },
  groupTitle: string | null,
  maxBytes: number,
): string {
  const payload: PushMessagePayload = {
    type: 'message.new',
    conversation_id: message.conversation_id,
    message_id: message.id,
    seq: message.seq,
    sender: { id: message.sender_id, username: sender.username },
    title: groupTitle === null ? sender.display_name : `${sender.display_name} in ${groupTitle}`,
    body: message.message_type === 'text' && message.content !== '' ? message.content : fallbackBody(message),
  };
  const full = JSON.stringify(payload);
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const chars = Array.from(payload.body);
  // The longest prefix that fits (with its ellipsis): bytes grow with the prefix, so a binary search finds it.
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const text = JSON.stringify({ ...payload, body: `${chars.slice(0, mid).join('')}…` });
    if (Buffer.byteLength(text) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return JSON.stringify({ ...payload, body: `${chars.slice(0, lo).join('')}…` });
}
