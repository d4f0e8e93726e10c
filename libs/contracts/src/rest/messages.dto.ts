import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { Limits } from '../wire/limits.js';
import {
  ATTACHMENT_TYPES,
  MESSAGE_CHANGE_KINDS,
  MESSAGE_TYPES,
  SYSTEM_ACTIONS,
  type Attachment,
  type AttachmentType,
  type Message,
  type MessageChange,
  type MessageChangeKind,
  type MessagePage,
  type MessageType,
  type Metadata,
  type ReactionCount,
  type SendableMessageType,
  type SystemAction,
  type SystemInfo,
} from '../wire/models.js';
import {
  ContentMaxLength,
  IsHttpUrl,
  IsId,
  IsMetadata,
  IsNotEmptyUnlessAttachments,
  IsStorableText,
  IsUrlForMediaMessages,
  TextLength,
} from './validators.js';

export class AttachmentDto implements Attachment {
  @ApiProperty({ enum: ATTACHMENT_TYPES, example: 'image' })
  @IsIn(ATTACHMENT_TYPES)
  type: AttachmentType;

  @ApiProperty({ example: 'https://cdn.example.com/a.png', maxLength: Limits.urlMaxLength })
  @IsHttpUrl()
  @TextLength(0, Limits.urlMaxLength)
  @IsString()
  url: string;

  @ApiPropertyOptional({ example: 'a.png', maxLength: Limits.attachmentNameMaxLength })
  @IsStorableText()
  @TextLength(0, Limits.attachmentNameMaxLength)
  @IsString()
  @IsOptional()
  name?: string;

  @ApiPropertyOptional({ example: 'image/png', maxLength: Limits.mimeTypeMaxLength })
  @IsStorableText()
  @TextLength(0, Limits.mimeTypeMaxLength)
  @IsString()
  @IsOptional()
  mime_type?: string;

  @ApiPropertyOptional({ example: 52_311, description: 'Bytes' })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @IsOptional()
  size?: number;

  @ApiPropertyOptional({ example: 640 })
  @Max(Limits.attachmentDimensionMax)
  @Min(1)
  @IsInt()
  @IsOptional()
  width?: number;

  @ApiPropertyOptional({ example: 480 })
  @Max(Limits.attachmentDimensionMax)
  @Min(1)
  @IsInt()
  @IsOptional()
  height?: number;
}

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
  @IsNotEmptyUnlessAttachments()
  content: string;

  @ApiPropertyOptional({
    example: '5f0c-1',
    maxLength: Limits.clientMessageIdMaxLength,
    description: 'Idempotency key, unique per sender: a retry with the same one returns the stored message',
  })
  @IsStorableText()
  @TextLength(1, Limits.clientMessageIdMaxLength)
  @IsString()
  @IsOptional()
  client_message_id?: string;

  @ApiPropertyOptional({ example: 99, description: 'A message of the same conversation this one replies to' })
  @IsId()
  @IsOptional()
  reply_to_id?: number;

  @ApiPropertyOptional({
    type: [AttachmentDto],
    maxItems: Limits.attachmentsMax,
    description: 'A text message with attachments may have empty content',
  })
  @ValidateNested({ each: true })
  @Type(() => AttachmentDto)
  @ArrayMaxSize(Limits.attachmentsMax)
  @IsArray()
  @IsOptional()
  attachments?: AttachmentDto[];

  @ApiPropertyOptional({
    type: Object,
    example: { productId: 'p-1' },
    description: "The app's own fields: a JSON object, at most 2 KB and 3 levels deep, kept as given",
  })
  @IsMetadata()
  @IsOptional()
  metadata?: Metadata;
}

/** An edit: the new content of a text message (the author only). */
export class EditMessageBodyDto {
  @ApiProperty({
    example: 'Hello, fixed!',
    description: 'May be empty only when the message has attachments',
  })
  @IsStorableText()
  @ContentMaxLength()
  @IsString()
  content: string;
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

  @ApiPropertyOptional({
    minimum: 0,
    description: 'Every message created or changed after this version, ascending by version (catch-up)',
  })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  after_version?: number;
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

export class ReactionCountDto implements ReactionCount {
  @ApiProperty({ example: '👍' }) emoji: string;
  @ApiProperty({ example: 3 }) count: number;
}

export class MessageChangeDto implements MessageChange {
  @ApiProperty({ enum: MESSAGE_CHANGE_KINDS }) kind: MessageChangeKind;
  @ApiProperty({ example: 2, description: 'Who made the change' }) user_id: number;
  @ApiPropertyOptional({ example: '👍', description: 'For reaction changes' }) emoji?: string;
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
  @ApiProperty({ example: 14, description: "The conversation's version of this message's latest change" })
  version: number;
  @ApiProperty({ type: String, nullable: true }) edited_at: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Set on a tombstone (content and files gone)' })
  deleted_at: string | null;
  @ApiProperty({ type: Number, nullable: true }) reply_to_id: number | null;
  @ApiProperty({ type: [AttachmentDto] }) attachments: AttachmentDto[];
  @ApiProperty({ type: Object, example: {} }) metadata: Metadata;
  @ApiProperty({ type: [ReactionCountDto], description: 'Most used first' }) reactions: ReactionCountDto[];
  @ApiPropertyOptional({
    type: [String],
    description: "The caller's own reactions (history pages and recent-messages only)",
  })
  my_reactions?: string[];
  @ApiPropertyOptional({ type: SystemInfoDto, description: "Only on message_type 'system'" })
  system?: SystemInfoDto;
}

export class MessagePageDto implements MessagePage {
  @ApiProperty({ type: [MessageDto], description: 'In ascending seq (ascending version with after_version)' })
  messages: MessageDto[];
  @ApiProperty({ description: 'More messages lie beyond this page in the direction of paging' })
  has_more: boolean;
}
