// What the seed-003 gateway and chats service share: the RPC patterns and the Redis settings, from the environment.

/**
 * NestJS's Redis transport publishes each request on a channel named after its pattern, and Redis pub/sub ignores
 * the db index, so runs side by side are kept apart by a namespace in the pattern names (SEED003_NS).
 */
const ns = process.env.SEED003_NS ?? 'seed003';

export const CHATS_SERVICE = 'CHATS_SERVICE';

export const PATTERNS = {
  findConversation: `${ns}:find_conversation`,
  createMessage: `${ns}:create_message`,
} as const;

/** The Socket.IO Redis adapter's channel prefix (its `key` option). */
export const ADAPTER_KEY = `${ns}:socket.io`;

export function redisOptions(): { host: string; port: number } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname, port: Number(url.port || 6379) };
}

/** Ends this process when the one that started it is gone (the bench or the smoke test died without stop()). */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}

export interface FindConversationRequest {
  conversationId: number;
}

export interface CreateMessageRequest {
  sender_id: number;
  conversation_id: number;
  message_type: string;
  content: string;
}
