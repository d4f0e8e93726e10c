import type {
  Attachment,
  Id,
  Message,
  MessageType,
  Metadata,
  SendMessageAck,
  SendMessagePayload,
} from '@parley/contracts/wire';
import { AckedQueue } from './acked-queue.js';
import type { Connection } from './connection.js';
import type { ParleyClientOptions } from './options.js';
import { uuid } from './util.js';

export interface SendOptions {
  type?: MessageType;
  /** The idempotency key; default a new UUID. A retry with the same key never creates a second message. */
  clientMessageId?: string;
  /** The message (of the same conversation) this one replies to. */
  replyTo?: Id;
  /** At most 10, with http(s) URLs; a text message with attachments may have empty content. */
  attachments?: Attachment[];
  /** A JSON object of yours, at most 2 KB serialized and 3 levels deep, kept verbatim. */
  metadata?: Metadata;
}

/** A send not yet acknowledged (for a "sending…" state in the UI). */
export interface PendingSend {
  conversationId: Id;
  content: string;
  clientMessageId: string;
  replyTo?: Id;
  attachments?: Attachment[];
}

/** A send that failed for good: the server refused it (`error` is the contract's string) or never answered. */
export class ParleySendError extends Error {
  override readonly name = 'ParleySendError';

  constructor(
    message: string,
    readonly clientMessageId: string,
  ) {
    super(message);
  }
}

/** A send as it goes on the wire (but `sender_id`, which is the connection's). */
type OutgoingSend = Omit<SendMessagePayload, 'sender_id' | 'message_type' | 'client_message_id'> & {
  message_type: MessageType;
  client_message_id: string;
};

/**
 * The sends not yet acknowledged, sent one at a time in call order (the server stores a socket's messages in the
 * order they came) and kept while disconnected. Each is retried with its `client_message_id` (the server stores it
 * once); see AckedQueue.
 */
export class Outbox {
  private readonly queue: AckedQueue<OutgoingSend>;

  constructor(
    connection: Connection,
    /** An acknowledged message, delivered like the others (the sequencer drops the live copy of the same seq). */
    acknowledged: (message: Message) => void,
    options: Pick<ParleyClientOptions, 'maxSendAttempts'>,
  ) {
    this.queue = new AckedQueue(
      connection,
      {
        send: (socket, payload) =>
          connection.request<SendMessageAck>(socket, 'send-message', {
            sender_id: connection.userId,
            ...payload,
          }),
        acknowledged,
        failure: (error, payload) => new ParleySendError(error, payload.client_message_id),
      },
      options,
    );
  }

  send(conversationId: Id, content: string, options: SendOptions = {}): Promise<Message> {
    return this.queue.push({
      conversation_id: conversationId,
      message_type: options.type ?? 'text',
      content,
      client_message_id: options.clientMessageId ?? uuid(),
      ...(options.replyTo === undefined ? {} : { reply_to_id: options.replyTo }),
      ...(options.attachments === undefined ? {} : { attachments: options.attachments }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    });
  }

  get pending(): PendingSend[] {
    return this.queue.items.map((payload) => ({
      conversationId: payload.conversation_id,
      content: payload.content,
      clientMessageId: payload.client_message_id,
      ...(payload.reply_to_id === undefined ? {} : { replyTo: payload.reply_to_id }),
      ...(payload.attachments === undefined ? {} : { attachments: payload.attachments }),
    }));
  }

  /** The client closed: every send still waiting rejects. */
  close(reason: Error): void {
    this.queue.close(reason);
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }
}
