import { IsBoolean, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { EditMessageBodyDto, MessageBodyDto } from '../rest/messages.dto.js';
import { IsId, IsStorableText, TextLength } from '../rest/validators.js';
import { Limits } from '../wire/limits.js';
import type {
  AuthenticatePayload,
  DeleteMessagePayload,
  EditMessagePayload,
  JoinConversationPayload,
  LeaveConversationPayload,
  MarkReadPayload,
  ReactPayload,
  SendMessagePayload,
  TypingPayload,
} from '../wire/socket-events.js';

// Validators of the Socket.IO payloads. Field names and messages are the seed's (`sender_id should not be empty,
// sender_id must be an integer number`); numbers must be JSON numbers, not strings.

export class SendMessageDto extends MessageBodyDto implements SendMessagePayload {
  @IsId()
  sender_id: number;

  @IsId()
  conversation_id: number;
}

export class JoinConversationDto implements JoinConversationPayload {
  @IsId()
  conversationId: number;

  @IsId()
  userId: number;

  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @IsOptional()
  since_seq?: number;

  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @IsOptional()
  since_version?: number;
}

export class EditMessageDto extends EditMessageBodyDto implements EditMessagePayload {
  @IsId()
  conversationId: number;

  @IsId()
  messageId: number;
}

export class DeleteMessageDto implements DeleteMessagePayload {
  @IsId()
  conversationId: number;

  @IsId()
  messageId: number;
}

/** A reaction's emoji: 1–32 UTF-16 code units of storable text (the `react` payload's, and REST's path parameter). */
function IsEmoji(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    TextLength(1, Limits.emojiMaxLength)(target, key);
    IsStorableText()(target, key);
  };
}

/** The emoji alone: what REST's reaction routes check their path parameter with. */
export class EmojiDto {
  @IsEmoji()
  emoji: string;
}

export class ReactDto implements ReactPayload {
  @IsId()
  conversationId: number;

  @IsId()
  messageId: number;

  @IsEmoji()
  emoji: string;

  @IsBoolean()
  add: boolean;
}

export class LeaveConversationDto implements LeaveConversationPayload {
  @IsId()
  conversationId: number;
}

export class TypingDto implements TypingPayload {
  @IsId()
  conversationId: number;

  @IsId()
  userId: number;

  @IsBoolean()
  isTyping: boolean;
}

export class MarkReadSocketDto implements MarkReadPayload {
  @IsId()
  conversationId: number;

  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @IsOptional()
  seq?: number;
}

/** Any string up to 4 KB: whether it is a token of the same user is the gateway's check (`Unauthorized`). */
export class AuthenticateDto implements AuthenticatePayload {
  @TextLength(1, 4096)
  @IsString()
  token: string;
}
