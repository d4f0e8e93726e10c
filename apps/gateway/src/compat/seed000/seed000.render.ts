import type { Conversation, Id, Message, User } from '@parley/contracts';

/**
 * Seed 000's objects (a marketplace's buyer–seller chats) from Parley's. Its ids are strings (MongoDB ObjectIds
 * there): Parley's ids are sent as decimal strings, and accepted as strings or numbers. Its attachments are URLs;
 * `productId` and `offerId` live in the message's metadata (the conversation's `productId` is its latest
 * message's).
 */

/** A message as seed 000's `chat_message` and `POST /api/chat/send/` carry it, for `viewer`. */
export function seed000Message(message: Message, viewer: Id) {
  const meta = message.metadata ?? {};
  return {
    id: String(message.id),
    text: message.content,
    sender: message.sender_id === viewer ? 'me' : String(message.sender_id),
    senderId: String(message.sender_id),
    timestamp: message.timestamp,
    attachments: message.attachments.map((a) => a.url),
    productId: typeof meta.productId === 'string' ? meta.productId : null,
    offerId: typeof meta.offerId === 'string' ? meta.offerId : null,
  };
}

/** A conversation as `GET /api/chat/conversations/` lists it for `viewer` (`other`: the other user's profile). */
export function seed000Conversation(conversation: Conversation, viewer: Id, other: User | undefined) {
  const last = conversation.last_message;
  const otherId = conversation.sender_id === viewer ? conversation.receiver_id : conversation.sender_id;
  const productId = last?.metadata?.productId ?? conversation.metadata?.productId;
  return {
    id: String(conversation.id),
    conversationId: String(conversation.id),
    otherUser: {
      id: String(otherId),
      username: other?.username ?? null,
      profileImage: null,
    },
    lastMessage: last?.content ?? null,
    lastMessageAt: last?.timestamp ?? null,
    // A string, as the seed shows it.
    unreadCount: String(conversation.unread_count),
    productId: typeof productId === 'string' ? productId : null,
  };
}

/** An id the seed's client sends (a string or a number), or undefined. */
export function parseSeedId(value: unknown): Id | undefined {
  const s = typeof value === 'number' ? String(value) : value;
  if (typeof s !== 'string' || !/^[1-9]\d{0,15}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The seed's message fields as Parley's message body: `text`, `attachments` (URLs, each a file attachment) and
 * `productId` / `offerId` (kept as metadata), or the error to answer with. The body still goes through Parley's
 * validation (`validMessageBody`).
 */
export function seed000Body(
  body: Record<string, unknown>,
): { body: Record<string, unknown> } | { error: string } {
  const text = body.text ?? '';
  if (typeof text !== 'string') return { error: 'text must be a string' };
  const urls = body.attachments ?? [];
  if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) {
    return { error: 'attachments must be an array of URLs' };
  }
  const metadata: Record<string, string> = {};
  for (const key of ['productId', 'offerId'] as const) {
    const value = body[key];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number') return { error: `${key} must be a string` };
    metadata[key] = String(value);
  }
  return {
    body: {
      message_type: 'text',
      content: text,
      attachments: (urls as string[]).map((url) => ({ type: 'file', url })),
      ...(Object.keys(metadata).length > 0 && { metadata }),
    },
  };
}
