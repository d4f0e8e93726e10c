import { ErrorCode, ErrorMessages, type RpcErrorBody } from '@parley/contracts';

/** An expected failure of a request, carrying the contract's code, status and message across the RPC. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  toRpc(): RpcErrorBody {
    return { status: this.status, code: this.code, message: this.message };
  }
}

export const Errors = {
  conversationNotFound: () =>
    new DomainError(ErrorCode.ConversationNotFound, 404, ErrorMessages.conversationNotFound),
  notParticipant: () => new DomainError(ErrorCode.NotParticipant, 403, ErrorMessages.notParticipantRest),
  userNotFound: () => new DomainError(ErrorCode.UserNotFound, 404, ErrorMessages.userNotFound),
  selfConversation: () => new DomainError(ErrorCode.SelfConversation, 400, ErrorMessages.selfConversation),
  usernameTaken: () => new DomainError(ErrorCode.UsernameTaken, 409, ErrorMessages.usernameTaken),
  emailTaken: () => new DomainError(ErrorCode.EmailTaken, 409, ErrorMessages.emailTaken),
  mentorRole: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.mentorRole),
  invalidRefreshToken: () =>
    new DomainError(ErrorCode.InvalidRefreshToken, 401, ErrorMessages.invalidRefreshToken),
  invalidCursor: () => new DomainError(ErrorCode.InvalidCursor, 400, ErrorMessages.invalidCursor),
  duplicateClientMessageId: () =>
    new DomainError(ErrorCode.ClientMessageIdReused, 409, ErrorMessages.clientMessageIdReused),
  invalidCredentials: () =>
    new DomainError(ErrorCode.InvalidCredentials, 401, ErrorMessages.invalidCredentials),
  serviceBusy: () => new DomainError(ErrorCode.ServiceBusy, 503, ErrorMessages.serviceBusy),
  validation: (message: string) => new DomainError(ErrorCode.Validation, 400, message),
  directMembership: () => new DomainError(ErrorCode.DirectMembership, 400, ErrorMessages.directMembership),
  notAllowed: () => new DomainError(ErrorCode.NotAllowed, 403, ErrorMessages.notAllowed),
  blocked: () => new DomainError(ErrorCode.Blocked, 403, ErrorMessages.blocked),
  groupTooLarge: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.groupTooLarge),
  cannotBlockSelf: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.cannotBlockSelf),
  tooManyBlocks: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.tooManyBlocks),
  muteInPast: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.muteInPast),
  messageNotFound: () => new DomainError(ErrorCode.MessageNotFound, 404, ErrorMessages.messageNotFound),
  onlyAuthorEdits: () => new DomainError(ErrorCode.NotAllowed, 403, ErrorMessages.onlyAuthorEdits),
  tooManyReactions: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.tooManyReactions),
  replyNotInConversation: () =>
    new DomainError(ErrorCode.Validation, 400, ErrorMessages.replyNotInConversation),
  contentEmpty: () => new DomainError(ErrorCode.Validation, 400, ErrorMessages.contentEmpty),
  tooManyPushSubscriptions: () =>
    new DomainError(ErrorCode.Validation, 400, ErrorMessages.tooManyPushSubscriptions),
};
