import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { Limits } from '../wire/limits.js';
import {
  MESSAGE_TYPES,
  SYSTEM_ACTIONS,
  type Message,
  type MessagePage,
  type MessageType,
  type SendableMessageType,
  type SystemAction,
  type SystemInfo,
} from '../wire/models.js';
import { ContentMaxLength, IsStorableText, IsUrlForMediaMessages } from './validators.js';

/** The body of a message, shared by REST sends and the Socket.IO `send-message` payload. */
export class MessageBodyDto {
  @ApiProperty({ enum: MESSAGE_TYPES, example: 'text' })
  @IsIn(MESSAGE_TYPES)
  @IsNotEmpty()
  message_type: SendableMessageType;

  @ApiProperty({
    example: 'Hello!',
    description: 'Text, or an http(s) URL for image and file; stored as given',
  })
  @IsUrlForMediaMessages()
  @IsStorableText()
  @ContentMaxLength()
  @IsString()
  @IsNotEmpty()
  content: string;

  @ApiPropertyOptional({
    example: '5f0c-1',
    maxLength: Limits.clientMessageIdMaxLength,
    description: 'Idempotency key, unique per sender: a retry with the same one returns the stored message',
  })
  @IsStorableText()
  @Length(1, Limits.clientMessageIdMaxLength)
  @IsString()
  @IsOptional()
  client_message_id?: string;
}

export class HistoryQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    description: 'Page 1 is the newest messages. Ignored with before_seq/after_seq',
  })
  @Max(10_000_000)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  page?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: Limits.pageSizeMax, default: Limits.pageSizeDefault })
  @Max(Limits.pageSizeMax)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  limit?: number;

  @ApiPropertyOptional({
    minimum: 1,
    description: 'The messages just before this seq (older), newest page first',
  })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  before_seq?: number;

  @ApiPropertyOptional({
    minimum: 0,
    description: 'The messages just after this seq (newer); 0 is the start',
  })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  after_seq?: number;
}

export class MessageConversationDto {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 1 }) sender_id: number;
  @ApiProperty({ type: Number, nullable: true, example: 2, description: 'null for a group' })
  receiver_id: number | null;
}

export class SystemInfoDto implements SystemInfo {
  @ApiProperty({ enum: SYSTEM_ACTIONS }) action: SystemAction;
  @ApiProperty({ example: 1, description: 'Who made the change' }) actor_id: number;
  @ApiProperty({ type: [Number], example: [3], description: 'Whom it concerns' }) user_ids: number[];
}

export class MessageDto implements Message {
  @ApiProperty({ example: 101 }) id: number;
  @ApiProperty({ example: 1 }) sender_id: number;
  @ApiProperty({ example: 1 }) conversation_id: number;
  @ApiProperty({ example: 12, description: '1, 2, 3… within the conversation, without gaps' }) seq: number;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) timestamp: string;
  @ApiProperty({ enum: [...MESSAGE_TYPES, 'system'] }) message_type: MessageType;
  @ApiProperty({ example: 'Hello!' }) content: string;
  @ApiProperty({ type: String, nullable: true, example: '5f0c-1' }) client_message_id: string | null;
  @ApiProperty({ type: MessageConversationDto }) conversation: MessageConversationDto;
  @ApiPropertyOptional({ type: SystemInfoDto, description: "Only on message_type 'system'" })
  system?: SystemInfoDto;
}

export class MessagePageDto implements MessagePage {
  @ApiProperty({ type: [MessageDto], description: 'In ascending seq' }) messages: MessageDto[];
  @ApiProperty({ description: 'More messages lie beyond this page in the direction of paging' })
  has_more: boolean;
}
