/** Messages between the bench orchestrator and its load workers (child processes, over IPC). */

export interface BenchUser {
  id: number;
  token: string;
  conversationId: number;
  /** The gateway (or baseline server) this user's socket connects to. */
  url: string;
  /** Whether this user sends during rate runs (receivers always listen). */
  sends: boolean;
  /** How the user's client speaks: Socket.IO (default), or seed 004's plain WebSocket (bench/seed004-socket.ts). */
  transport?: 'socket.io' | 'seed004';
  /** The other member of a 1:1 pair (the seed 004 socket is keyed by it). */
  peerId?: number;
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
  | {
      /**
       * Every sender sends at `ratePerSender` on a fixed schedule from `startAt` (ms, performance.timeOrigin +
       * now(): one clock for every process of the machine): `warmupMs` unrecorded, then `durationMs` measured.
       */
      type: 'run';
      startAt: number;
      ratePerSender: number;
      warmupMs: number;
      durationMs: number;
      drainMs: number;
      tag: string;
    }
  | {
      /** Sends to these groups, `ratePerConversation` messages/s each, from a member picked at random each time. */
      type: 'run-groups';
      startAt: number;
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
  /**
   * Per delivery of a measured message, in one order: when it arrived (ms, the machine's clock) and its end-to-end
   * latency from the message's *scheduled* send time (open loop: a late send loop adds to it, it does not hide it).
   */
  deliveredAt: Float64Array;
  e2e: Float64Array;
  /** Ack latencies (ms), from the scheduled send time too. */
  ack: Float64Array;
  /** How late each measured emit ran after its scheduled time (ms). */
  late: Float64Array;
  /** When this run's warm-up messages were delivered (for the stalls that begin before the window). */
  warmDeliveredAt: Float64Array;
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
  /** Per receipt counted in `delivered`: when it arrived, and scheduled send → `receive-message` (ms). */
  deliveredAt: Float64Array;
  e2e: Float64Array;
  /** scheduled send → ack, ms. */
  ack: Float64Array;
  /** How late each measured emit ran after its scheduled time (ms). */
  late: Float64Array;
  /** `conversation-updated` frames whose `last_message` is a measured message, at any member socket. */
  updates: number;
  /** Over the measured messages: distinct member views (unread count, role, mute) their updates carried. */
  views: number;
}
