/** Messages between the bench orchestrator and its load workers (child processes, over IPC). */

export interface BenchUser {
  id: number;
  token: string;
  conversationId: number;
  /** The gateway (or baseline server) this user's socket connects to. */
  url: string;
  /** Whether this user sends during rate runs (receivers always listen). */
  sends: boolean;
}

export type ToWorker =
  | { type: 'connect'; users: BenchUser[]; join: boolean; reconnection?: boolean }
  | { type: 'run'; ratePerSender: number; warmupMs: number; durationMs: number; drainMs: number; tag: string }
  | { type: 'count' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'connected'; connected: number; failed: number; ms: number }
  | { type: 'result'; result: WorkerResult }
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
