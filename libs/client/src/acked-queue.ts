import type { Ack, Message } from '@parley/contracts/wire';
import type { ChatSocket, RequestResult } from './chat-socket.js';
import type { Connection } from './connection.js';
import type { ParleyClientOptions } from './options.js';
import { isRetryableRefusal, isTransient } from './refusals.js';

interface Entry<T> {
  item: T;
  /** Tries that got no answer or an unexpected error (they count towards `maxSendAttempts`). */
  attempts: number;
  /** Refusals for now (they do not count). */
  refusals: number;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
}

/** What a queue sends and what it makes of the answers. */
export interface AckedQueueHandlers<T> {
  /** Emits the item's event on the socket and waits for its ack. */
  send(socket: ChatSocket, item: T): Promise<RequestResult<Ack<{ message: Message }>>>;
  /** The server's answer: the message stored or changed. */
  acknowledged(message: Message, item: T): void;
  /** The error the item's promise rejects with when it fails for good (`error` is the contract's string). */
  failure(error: string, item: T): Error;
}

/**
 * Requests that the server answers with a message (sends, edits, deletions, reactions), sent one at a time in the
 * order they were made and kept while disconnected. Each must be idempotent on the server (a send by its
 * `client_message_id`, a change because one that changes nothing answers the message as it is), so one that got no
 * answer is simply sent again: refusals for now (`Rate limit exceeded`, `Service busy`…) with the retry backoff
 * until they pass, no answer or an unexpected error up to `maxSendAttempts` tries; any other refusal rejects.
 */
export class AckedQueue<T> {
  private readonly queue: Entry<T>[] = [];
  private flushing = false;

  constructor(
    private readonly connection: Connection,
    private readonly handlers: AckedQueueHandlers<T>,
    private readonly options: Pick<ParleyClientOptions, 'maxSendAttempts'>,
  ) {}

  push(item: T): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (this.connection.closed) return reject(new Error('The client is closed'));
      this.queue.push({ item, attempts: 0, refusals: 0, resolve, reject });
      void this.flush();
    });
  }

  /** What is waiting for an answer, oldest first. */
  get items(): T[] {
    return this.queue.map((e) => e.item);
  }

  /** The client closed: everything still waiting rejects. */
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
        const result = await this.handlers.send(socket, entry.item);
        if (this.queue[0] !== entry) continue; // closed meanwhile
        if (result === 'disconnected') continue; // sent again once reconnected
        const ack = result === 'timeout' ? undefined : result.ack;
        if (ack?.success) {
          this.queue.shift();
          this.handlers.acknowledged(ack.message, entry.item);
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
        // Two unanswered tries: the connection is likely dead without knowing it yet. Replace it (the request goes
        // out again after the reconnect).
        if (result === 'timeout' && entry.attempts % 2 === 0) socket.disconnect();
        if (!retryable || entry.attempts >= (this.options.maxSendAttempts ?? 5)) {
          this.queue.shift();
          entry.reject(this.handlers.failure(error, entry.item));
          continue;
        }
        if (result !== 'timeout')
          await this.connection.retryWait(this.connection.retryDelay(entry.attempts - 1));
      }
    } finally {
      this.flushing = false;
      // A reconnect may have happened while the last request was pending.
      if (this.queue.length > 0 && this.connection.socket?.connected && this.connection.connected)
        void this.flush();
    }
  }
}
