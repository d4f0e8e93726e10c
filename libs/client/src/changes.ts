import type {
  DeleteMessagePayload,
  EditMessagePayload,
  Id,
  Message,
  MessageChangeAck,
  ReactPayload,
} from '@parley/contracts/wire';
import type { Connection } from './connection.js';
import type { ParleyClientOptions } from './options.js';
import { isRetryableRefusal, isTransient } from './refusals.js';

/** An edit, deletion or reaction the server refused (`message` is the contract's string), or never answered. */
export class ParleyChangeError extends Error {
  override readonly name = 'ParleyChangeError';

  constructor(
    message: string,
    readonly conversationId: Id,
    readonly messageId: Id,
  ) {
    super(message);
  }
}

/** A change of a message, as it goes on the wire. */
export type MessageChangeRequest =
  | { event: 'edit-message'; payload: EditMessagePayload }
  | { event: 'delete-message'; payload: DeleteMessagePayload }
  | { event: 'react'; payload: ReactPayload };

interface PendingChange {
  request: MessageChangeRequest;
  /** Tries that got no answer or an unexpected error (they count towards `maxSendAttempts`). */
  attempts: number;
  /** Refusals for now (they do not count). */
  refusals: number;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
}

/**
 * Edits, deletions and reactions, sent one at a time in the order they were asked for (so that two edits of one
 * message end with the second), kept while disconnected. Every one of them is idempotent on the server (a change
 * that changes nothing answers the message as it is), so one that got no answer is simply sent again: refusals for
 * now until they pass, no answer or an unexpected error up to `maxSendAttempts` tries.
 */
export class MessageChanges {
  private readonly queue: PendingChange[] = [];
  private flushing = false;

  constructor(
    private readonly connection: Connection,
    /** The server's answer: the message after the change (or as it was, when there was nothing to change). */
    private readonly acknowledged: (message: Message, request: MessageChangeRequest) => void,
    private readonly options: Pick<ParleyClientOptions, 'maxSendAttempts'>,
  ) {}

  request(request: MessageChangeRequest): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (this.connection.closed) return reject(new Error('The client is closed'));
      this.queue.push({ request, attempts: 0, refusals: 0, resolve, reject });
      void this.flush();
    });
  }

  get pending(): MessageChangeRequest[] {
    return this.queue.map((e) => e.request);
  }

  /** The client closed: every change still waiting rejects. */
  close(reason: Error): void {
    for (const entry of this.queue.splice(0)) entry.reject(reason);
  }

  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const socket = this.connection.socket;
        const entry = this.queue[0];
        if (!entry || !socket?.connected || !this.connection.connected) return;
        const { event, payload } = entry.request;
        const result = await this.connection.request<MessageChangeAck>(socket, event, payload);
        if (this.queue[0] !== entry) continue; // closed meanwhile
        if (result === 'disconnected') continue; // sent again once reconnected
        const ack = result === 'timeout' ? undefined : result.ack;
        if (ack?.success) {
          this.queue.shift();
          this.acknowledged(ack.message, entry.request);
          entry.resolve(ack.message);
          continue;
        }
        const error = ack ? ack.error : 'No acknowledgement';
        if (isRetryableRefusal(error)) {
          await this.connection.retryWait(this.connection.retryDelay(entry.refusals++));
          continue;
        }
        entry.attempts++;
        if (result === 'timeout' && entry.attempts % 2 === 0) socket.disconnect(); // likely dead: replace it
        const retryable = result === 'timeout' || isTransient(error);
        if (!retryable || entry.attempts >= (this.options.maxSendAttempts ?? 5)) {
          this.queue.shift();
          entry.reject(new ParleyChangeError(error, payload.conversationId, payload.messageId));
          continue;
        }
        if (result !== 'timeout')
          await this.connection.retryWait(this.connection.retryDelay(entry.attempts - 1));
      }
    } finally {
      this.flushing = false;
      if (this.queue.length > 0 && this.connection.socket?.connected && this.connection.connected)
        void this.flush();
    }
  }
}
