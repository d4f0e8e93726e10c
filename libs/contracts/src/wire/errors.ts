/** The contract's exact error strings (PROTOCOL.md, "Error strings"). */
export const ErrorMessages = {
  conversationNotFound: 'Conversation not found',
  userNotFound: 'User not found',
  notParticipantJoin: 'Unauthorized to join this conversation',
  unauthorized: 'Unauthorized',
  notParticipantRest: 'Unauthorized to access this conversation',
  rateLimited: 'Rate limit exceeded',
  selfConversation: 'Cannot start a conversation with yourself',
  senderMismatch: 'sender_id must be your own user id',
  usernameTaken: 'Username is already taken',
  /** Registering an e-mail address another user has (409; addresses are compared without case). */
  emailTaken: 'E-mail is already registered',
  /** Assigning a mentor who is not a TEACHER or TRAINER (400). */
  mentorRole: 'A mentor must be a TEACHER or TRAINER',
  /** Seed 001's my-conversation for a student without a mentor (the socket is closed with 4404). */
  noMentor: 'No mentor assigned',
  /** The admin API without ADMIN_TOKEN configured, or with another token (403). */
  adminOnly: 'Admin token required',
  /** The admin API: no webhook endpoint with that id (404). */
  webhookNotFound: 'Webhook endpoint not found',
  /** The admin API: registering past webhookLimits.endpointsMax (400). */
  webhookLimit: 'Too many webhook endpoints',
  invalidCredentials: 'Invalid username or password',
  invalidRefreshToken: 'Invalid refresh token',
  invalidCursor: 'Invalid cursor',
  clientMessageIdReused: 'client_message_id was already used for a message in another conversation',
  tokenIssuingDisabled: 'This deployment does not issue tokens (JWT_PRIVATE_KEY is not configured)',
  /** The socket's session was ended (logout, logout-all, or a refresh token replayed); the socket is closed. */
  sessionEnded: 'Session ended',
  /** The socket's access token expired without an `authenticate`; the socket is closed. */
  tokenExpired: 'Token expired',
  /** Too many auth attempts from one address, or failed logins for one username (429, with Retry-After). */
  tooManyAttempts: 'Too many attempts, retry later',
  /** Admission control: too much work in flight for this socket, this gateway or the chats service (503). */
  serviceBusy: 'Service busy, retry later',
  /** A handshake over the per-user or per-address cap on open connections. */
  tooManyConnections: 'Too many connections',
  /** A handshake to a namespace other than /chat. */
  invalidNamespace: 'Invalid namespace',
  /** Input deeper or larger than any valid payload (checked before validation, without recursion). */
  payloadTooComplex: 'payload is too deeply nested or has too many values',
  /** Adding, removing or changing a member of a direct conversation (400). */
  directMembership: 'Direct conversations have exactly two members',
  /** A member's role does not allow the change (403). */
  notAllowed: 'Not allowed',
  /** A direct conversation, or a message in one, between users where either blocked the other (403). */
  blocked: 'You cannot message this user',
  /** A group over GROUP_MAX_MEMBERS (400). */
  groupTooLarge: 'A group has too many members',
  cannotBlockSelf: 'Cannot block yourself',
  tooManyBlocks: 'Too many blocked users',
  muteInPast: 'until must be a time in the future',
  /** The message is not in the conversation, or it was deleted (404). */
  messageNotFound: 'Message not found',
  /** An edit by anyone but the author (403). */
  onlyAuthorEdits: 'Only the author can edit this message',
  /** A new emoji on a message that has Limits.reactionsPerMessageMax distinct ones (400). */
  tooManyReactions: 'A message has at most 20 distinct reactions',
  /** `reply_to_id` names no message of the conversation (400). */
  replyNotInConversation: 'reply_to_id must be a message of this conversation',
  /** A text message with neither content nor attachments (class-validator's wording, 400). */
  contentEmpty: 'content should not be empty',
  /** join-conversation or history given both catch-up cursors (400). */
  oneCatchUpCursor: 'Use only one of since_seq and since_version',
  /** GET /api/push/public-key, and registrations, when no VAPID keys are configured (404). */
  pushDisabled: 'Push notifications are not enabled',
  /** A user over PUSH_MAX_SUBSCRIPTIONS_PER_USER (400): unregister a device first. */
  tooManyPushSubscriptions: 'Too many push subscriptions',
} as const;

/**
 * Codes of domain errors. The chats service raises them; each edge (HTTP, WebSocket) maps a code to its status
 * and to the contract's string for that edge (e.g. NOT_PARTICIPANT is `Unauthorized to join this conversation`
 * on join and `Unauthorized` on send).
 */
export const ErrorCode = {
  ConversationNotFound: 'CONVERSATION_NOT_FOUND',
  UserNotFound: 'USER_NOT_FOUND',
  NotParticipant: 'NOT_PARTICIPANT',
  SelfConversation: 'SELF_CONVERSATION',
  UsernameTaken: 'USERNAME_TAKEN',
  EmailTaken: 'EMAIL_TAKEN',
  InvalidRefreshToken: 'INVALID_REFRESH_TOKEN',
  InvalidCursor: 'INVALID_CURSOR',
  ClientMessageIdReused: 'CLIENT_MESSAGE_ID_REUSED',
  InvalidCredentials: 'INVALID_CREDENTIALS',
  ServiceBusy: 'SERVICE_BUSY',
  Validation: 'VALIDATION',
  DirectMembership: 'DIRECT_MEMBERSHIP',
  NotAllowed: 'NOT_ALLOWED',
  Blocked: 'BLOCKED',
  MessageNotFound: 'MESSAGE_NOT_FOUND',
  WebhookNotFound: 'WEBHOOK_NOT_FOUND',
  PushDisabled: 'PUSH_DISABLED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The shape of an error crossing the RPC boundary. */
export interface RpcErrorBody {
  status: number;
  code: string;
  message: string;
}

export function isRpcErrorBody(value: unknown): value is RpcErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RpcErrorBody).status === 'number' &&
    typeof (value as RpcErrorBody).message === 'string'
  );
}
