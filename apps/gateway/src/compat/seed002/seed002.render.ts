import type { Conversation, Id, Message, Metadata } from '@parley/contracts';

/**
 * Seed 002's objects (a support desk's conversations with customers) from Parley's: what the seed's model has and
 * Parley's has not (a customer, a status, a priority, a message's type and AI flags) comes from the metadata the
 * integration stored with the conversation or the message, with the defaults docs/compat.md lists.
 */

/** A message as seed 002's `chat_message`, `recent_messages` and `new_customer_message` carry it, for `viewer`. */
export function seed002Message(message: Message, viewer: Id) {
  const meta = message.metadata ?? {};
  return {
    id: message.id,
    content: message.content,
    type: text(meta, 'type') ?? (message.sender_id === viewer ? 'support' : 'customer'),
    customer: object(meta, 'customer'),
    is_ai_response: meta.is_ai_response === true,
    is_answered: meta.is_answered === true,
    created_at: message.timestamp,
    // Parley's own, beside the seed's: who sent it, where, and its place in the conversation.
    sender_id: message.sender_id,
    conversation_id: message.conversation_id,
    seq: message.seq,
  };
}

/** A conversation as seed 002's `conversations_list` carries it. */
export function seed002Conversation(conversation: Conversation, viewer: Id) {
  const meta = conversation.metadata ?? {};
  const last = conversation.last_message;
  return {
    id: conversation.id,
    title: text(meta, 'title') ?? conversation.title,
    status: text(meta, 'status') ?? 'active',
    customer: object(meta, 'customer'),
    priority: typeof meta.priority === 'number' ? meta.priority : 0,
    created_at: conversation.created_at,
    updated_at: last?.timestamp ?? conversation.created_at,
    last_message: last && {
      id: last.id,
      content: last.content,
      type: seed002Message(last, viewer).type,
      created_at: last.timestamp,
    },
    unread_count: conversation.unread_count,
  };
}

function text(meta: Metadata, key: string): string | null {
  const value = meta[key];
  return typeof value === 'string' ? value : null;
}

function object(meta: Metadata, key: string): Record<string, unknown> | null {
  const value = meta[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
