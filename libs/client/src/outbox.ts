import type {
  Attachment,
  Id,
  Message,
  MessageType,
  Metadata,
  SendMessageAck,
  SendMessagePayload,
} from '@parley/contracts/wire';
import type { Connection } from './connection.js';
import type { ParleyClientOptions } from './options.js';
import { isRetryableRefusal, isTransient } from './refusals.js';
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

interface OutgoingSend {
  /** What goes on the wire (but `sender_id`, which is the connection's). */
  payload: Omit<SendMessagePayload, 'sender_id' | 'message_type' | 'client_message_id'> & {
    message_type: MessageType;
    client_message_id: string;
  };
  /** Tries that got no answer or an unexpected error (they count towards `maxSendAttempts`). */
  attempts: number;
  /** Refusals for now (they do not count). */
  refusals: number;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
}

/**
 * The sends not yet acknowledged, sent in order while connected and kept while not. Each is retried with its
 * `client_message_id` (the server stores it once): refusals for now until they pass, no answer or an unexpected
 * error up to `maxSendAttempts` tries.
 */
export class Outbox {
  private readonly outbox: OutgoingSend[] = [];
  private flushing = false;

  constructor(
    private readonly connection: Connection,
    /** An acknowledged message, delivered like the others (the sequencer drops the live copy of the same seq). */
    private readonly acknowledged: (message: Message) => void,
    private readonly options: Pick<ParleyClientOptions, 'maxSendAttempts'>,
  ) {}

  send(conversationId: Id, content: string, options: SendOptions = {}): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (this.connection.closed) return reject(new Error('The client is closed'));
      this.outbox.push({
        payload: {
          conversation_id: conversationId,
          message_type: options.type ?? 'text',
          content,
          client_message_id: options.clientMessageId ?? uuid(),
          ...(options.replyTo === undefined ? {} : { reply_to_id: options.replyTo }),
          ...(options.attachments === undefined ? {} : { attachments: options.attachments }),
          ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
        },
        attempts: 0,
        refusals: 0,
        resolve,
        reject,
      });
      void this.flush();
    });
  }

  get pending(): PendingSend[] {
    return this.outbox.map(({ payload }) => ({
      conversationId: payload.conversation_id,
      content: payload.content,
      clientMessageId: payload.client_message_id,
      ...(payload.reply_to_id === undefined ? {} : { replyTo: payload.reply_to_id }),
      ...(payload.attachments === undefined ? {} : { attachments: payload.attachments }),
    }));
  }

  /** The client closed: every send still waiting rejects. */
  close(reason: Error): void {
    for (const entry of this.outbox.splice(0)) entry.reject(reason);
  }

  /** Sends the outbox one message at a time (the server stores a socket's messages in the order they came). */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const socket = this.connection.socket;
        const entry = this.outbox[0];
        if (!entry || !socket?.connected || !this.connection.connected) return;
        const result = await this.connection.request<SendMessageAck>(socket, 'send-message', {
          sender_id: this.connection.userId,
          ...entry.payload,
        });
        if (this.outbox[0] !== entry) continue; // closed meanwhile
        if (result === 'disconnected') continue; // sent again (same id) once reconnected
        const ack = result === 'timeout' ? undefined : result.ack;
        if (ack?.success) {
          this.outbox.shift();
          this.acknowledged(ack.message);
          entry.resolve(ack.message);
          continue;
        }
        const error = ack ? ack.error : 'No acknowledgement';
        if (isRetryableRefusal(error)) {
          await this.connection.retryWait(this.connection.retryDelay(entry.refusals++));
          continue;
        }
        const retryable = result === 'timeout' || isTransient(error);
        entry.attempts++;
        // Two unanswered tries: the connection is likely dead without knowing it yet. Replace it (the send goes
        // out again, with the same client_message_id, after the reconnect).
        if (result === 'timeout' && entry.attempts % 2 === 0) socket.disconnect();
        if (!retryable || entry.attempts >= (this.options.maxSendAttempts ?? 5)) {
          this.outbox.shift();
          entry.reject(new ParleySendError(error, entry.payload.client_message_id));
          continue;
        }
        if (result !== 'timeout')
          await this.connection.retryWait(this.connection.retryDelay(entry.attempts - 1));
      }
    } finally {
      this.flushing = false;
      // A reconnect may have happened while the last request was pending.
      if (this.outbox.length > 0 && this.connection.socket?.connected && this.connection.connected)
        void this.flush();
    }
  }
}
