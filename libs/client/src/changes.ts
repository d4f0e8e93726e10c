import type {
  DeleteMessagePayload,
  EditMessagePayload,
  Id,
  Message,
  MessageChangeAck,
  ReactPayload,
} from '@parley/contracts/wire';
import { AckedQueue } from './acked-queue.js';
import type { Connection } from './connection.js';
import type { ParleyClientOptions } from './options.js';

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

/**
 * Edits, deletions and reactions, sent one at a time in the order they were asked for (so that two edits of one
 * message end with the second), kept while disconnected. Every one of them is idempotent on the server (a change
 * that changes nothing answers the message as it is), so one that got no answer is simply sent again; see
 * AckedQueue.
 */
export class MessageChanges {
  private readonly queue: AckedQueue<MessageChangeRequest>;

  constructor(
    connection: Connection,
    /** The server's answer: the message after the change (or as it was, when there was nothing to change). */
    acknowledged: (message: Message, request: MessageChangeRequest) => void,
    options: Pick<ParleyClientOptions, 'maxSendAttempts'>,
  ) {
    this.queue = new AckedQueue(
      connection,
      {
        send: (socket, { event, payload }) => connection.request<MessageChangeAck>(socket, event, payload),
        acknowledged,
        failure: (error, { payload }) =>
          new ParleyChangeError(error, payload.conversationId, payload.messageId),
      },
      options,
    );
  }

  request(request: MessageChangeRequest): Promise<Message> {
    return this.queue.push(request);
  }

  get pending(): MessageChangeRequest[] {
    return this.queue.items;
  }

  /** The client closed: every change still waiting rejects. */
  close(reason: Error): void {
    this.queue.close(reason);
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }
}
