export function requestStreamKey(keyPrefix: string, service: string): string {
  return `${keyPrefix}rpc:${service}`;
}

export function replyStreamKey(keyPrefix: string, service: string, clientId: string): string {
  return `${keyPrefix}rpc:${service}:reply:${clientId}`;
}

/** Field names of stream entries. Short, because every request carries them. */
export const Field = {
  /** The serialized packet: `{ id?, pattern, data, metadata? }`. */
  packet: 'p',
  /** Reply stream key (requests only). */
  replyTo: 'r',
  /** Epoch ms after which the client no longer waits; a consumer drops the request unanswered. */
  deadline: 'd',
} as const;
