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
  invalidCredentials: 'Invalid username or password',
  invalidRefreshToken: 'Invalid refresh token',
  invalidCursor: 'Invalid cursor',
  clientMessageIdReused: 'client_message_id was already used for a message in another conversation',
  tokenIssuingDisabled: 'This deployment does not issue tokens (JWT_PRIVATE_KEY is not configured)',
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
  InvalidRefreshToken: 'INVALID_REFRESH_TOKEN',
  InvalidCursor: 'INVALID_CURSOR',
  ClientMessageIdReused: 'CLIENT_MESSAGE_ID_REUSED',
  Validation: 'VALIDATION',
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
