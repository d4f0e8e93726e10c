/** Messages between the bench orchestrator and its load workers (child processes, over IPC). */

export interface BenchUser {
  id: number;
  token: string;
  conversationId: number;
  /** The gateway (or baseline server) this user's socket connects to. */
  url: string;
  /** Whether this user sends during rate runs (receivers always listen). */
  sends: boolean;
  /** Set when the conversation is a group: its members, the user included (the group scenario's users). */
  groupSize?: number;
}

export type ToWorker =
  | {
      type: 'connect';
      users: BenchUser[];
      join: boolean;
      reconnection?: boolean;
      /** How often a refused join is tried (1 by default: once). */
      joinAttempts?: number;
    }
  | { type: 'run'; ratePerSender: number; warmupMs: number; durationMs: number; drainMs: number; tag: string }
  | {
      /** Sends to these groups, `ratePerConversation` messages/s each, from a member picked at random each time. */
      type: 'run-groups';
      conversations: number[];
      ratePerConversation: number;
      warmupMs: number;
      durationMs: number;
      drainMs: number;
      tag: string;
    }
  | { type: 'count' }
  | { type: 'close' };

export type FromWorker =
  | {
      type: 'connected';
      connected: number;
      failed: number;
      /** Clients whose join-conversation succeeded. */
      joined: number;
      /** Why joins were refused, by error, retries included. */
      joinErrors: Record<string, number>;
      ms: number;
    }
  | { type: 'result'; result: WorkerResult }
  | { type: 'group-result'; result: GroupWorkerResult }
  | {
      type: 'count';
      connected: number;
      joined: number;
      reconnectedAt: number[];
      /** Connection errors and disconnect reasons seen so far, by message. */
      events: Record<string, number>;
    }
  | { type: 'error'; message: string };

export interface WorkerResult {
  sent: number;
  acked: number;
  failedAcks: number;
  /** Deliveries expected: for every measured message acked, one per other member of its conversation. */
  expected: number;
  delivered: number;
  duplicated: number;
  outOfOrder: number;
  /** End-to-end latencies (ms): send → receive-message at each receiver, measured phase only. */
  e2e: number[];
  /** Ack latencies (ms). */
  ack: number[];
  measureStart: number;
  measureEnd: number;
  lastDelivery: number;
}

/**
 * A group run's counts, message by message: every measured message is expected once at each other member's socket
 * (the sender's own socket gets `message-sent`, not `receive-message`).
 */
export interface GroupWorkerResult {
  sent: number;
  acked: number;
  failedAcks: number;
  /** For every measured message acked: the other members joined when it was sent. */
  expected: number;
  /** First receipts of a measured, acked message by a member socket other than the sender's. */
  delivered: number;
  /** Expected receipts that never came (within the drain time). */
  missing: number;
  /** A socket's second (third…) receipt of the same message. */
  duplicated: number;
  /** `receive-message` of a message at the socket that sent it. */
  toSender: number;
  /** `receive-message` at a socket whose user is not in the message's conversation. */
  wrongConversation: number;
  /** Receipts of messages whose send was not acknowledged (stored, but the ack failed or timed out). */
  deliveredUnacked: number;
  /** A sender's message received after a later one of the same sender, by the same socket. */
  outOfOrder: number;
  /** send → `receive-message`, ms, one per receipt counted in `delivered`. */
  e2e: number[];
  ack: number[];
  /** `conversation-updated` frames whose `last_message` is a measured message, at any member socket. */
  updates: number;
  /** Over the measured messages: distinct member views (unread count, role, mute) their updates carried. */
  views: number;
}
