import { IsBoolean, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { MessageBodyDto } from '../rest/messages.dto.js';
import { IsId } from '../rest/validators.js';
import type {
  AuthenticatePayload,
  JoinConversationPayload,
  LeaveConversationPayload,
  MarkReadPayload,
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
  @Length(1, 4096)
  @IsString()
  token: string;
}
