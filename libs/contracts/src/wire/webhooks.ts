import type { Id } from './models.js';

/** The chat events an endpoint can subscribe to (docs/integrations.md describes each one's `data`). */
export const WEBHOOK_EVENT_TYPES = [
  'message.new',
  'message.updated',
  'conversation.created',
  'member.added',
  'member.removed',
  'read.updated',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const webhookLimits = {
  urlMaxLength: 2048,
  descriptionMaxLength: 200,
  /** Endpoints in all: each one is a delivery (and a request) per event it subscribes to. */
  endpointsMax: 20,
  deadLettersPageMax: 100,
} as const;

/** A registered endpoint as the admin API shows it; `secret` only when it is created or rotated. */
export interface WebhookEndpoint {
  id: Id;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  created_at: string;
  updated_at: string;
  /** Deliveries waiting for their first attempt or a retry. */
  pending: number;
  /** Deliveries whose retries ran out (see the dead letters). */
  dead: number;
  secret?: string;
}

/** A delivery whose retries ran out. */
export interface WebhookDeadLetter {
  id: Id;
  event_id: string;
  type: WebhookEventType;
  attempts: number;
  last_error: string | null;
  created_at: string;
  dead_at: string;
}

/** The body of every webhook request. */
export interface WebhookEventBody<T = unknown> {
  /** Stable across retries: receivers deduplicate by it. */
  id: string;
  type: WebhookEventType;
  /** When the change happened (committed with it). */
  created_at: string;
  data: T;
}
