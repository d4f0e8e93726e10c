import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { Limits } from '../wire/limits.js';
import {
  CONVERSATION_TYPES,
  MEMBER_ROLES,
  type Conversation,
  type ConversationPage,
  type ConversationRef,
  type ConversationType,
  type Member,
  type MemberPage,
  type MemberRole,
  type Metadata,
  type ReadMark,
  type UnreadSummary,
} from '../wire/models.js';
import { UserDto } from './auth.dto.js';
import { MessageDto } from './messages.dto.js';
import { IsId, IsMetadata, IsStorableText, TextLength } from './validators.js';

const isGroup = (dto: { type?: unknown }) => dto.type === 'group';

/**
 * `{receiver_id}` (seed 003: the direct conversation of the pair) or `{type: 'group', title, member_ids}`.
 * Each shape's fields are checked only for that shape.
 */
export class CreateConversationDto {
  @ApiPropertyOptional({ enum: CONVERSATION_TYPES, default: 'direct' })
  @IsIn(CONVERSATION_TYPES)
  @IsOptional()
  type?: ConversationType;

  @ApiPropertyOptional({ example: 1, description: 'Seed 003 compatibility: when given, must be the caller' })
  @IsId()
  @IsOptional()
  sender_id?: number;

  @ApiPropertyOptional({ example: 2, description: 'Direct: the other participant' })
  @IsId()
  @ValidateIf((dto: CreateConversationDto) => !isGroup(dto))
  receiver_id?: number;

  @ApiPropertyOptional({ example: 'Weekend trip', minLength: 1, maxLength: Limits.titleMaxLength })
  @IsStorableText()
  @TextLength(1, Limits.titleMaxLength)
  @IsString()
  @ValidateIf(isGroup)
  title?: string;

  @ApiPropertyOptional({ type: [Number], example: [2, 3], description: 'Group: the other members' })
  @IsId({ each: true })
  @ArrayMaxSize(Limits.groupMembersMax)
  @IsArray()
  @ValidateIf(isGroup)
  member_ids?: number[];

  @ApiPropertyOptional({ type: Object, example: { topic: 'travel' }, description: 'Group: 2 KB, 3 levels' })
  @IsMetadata()
  @IsOptional()
  metadata?: Metadata;
}

export class UpdateConversationDto {
  @ApiPropertyOptional({ example: 'Weekend trip', minLength: 1, maxLength: Limits.titleMaxLength })
  @IsStorableText()
  @TextLength(1, Limits.titleMaxLength)
  @IsString()
  @IsOptional()
  title?: string;

  @ApiPropertyOptional({ type: Object, example: { topic: 'travel' } })
  @IsMetadata()
  @IsOptional()
  metadata?: Metadata;
}

export class AddMembersDto {
  @ApiProperty({ type: [Number], example: [4, 5] })
  @IsId({ each: true })
  @ArrayMaxSize(Limits.groupMembersMax)
  @ArrayMinSize(1)
  @IsArray()
  user_ids: number[];
}

export class SetRoleDto {
  @ApiProperty({ enum: ['admin', 'member'] })
  @IsIn(['admin', 'member'])
  role: 'admin' | 'member';
}

export class MuteDto {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '2026-12-24T18:00:00.000Z',
    description: 'When the mute ends; null or absent: until unmuted',
  })
  @IsISO8601({ strict: true })
  @ValidateIf((dto: MuteDto) => dto.until !== undefined && dto.until !== null)
  until?: string | null;
}

/** `?cursor=&limit=` of a cursor-paged list (conversations, members). */
export class ListConversationsQueryDto {
  @ApiPropertyOptional({ description: 'Opaque cursor from next_cursor of the previous page' })
  @TextLength(1, 200)
  @IsString()
  @IsOptional()
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: Limits.pageSizeMax, default: Limits.pageSizeDefault })
  @Max(Limits.pageSizeMax)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  limit?: number;
}

/** The members page takes the same cursor and limit as the conversation list. */
export class MembersQueryDto extends ListConversationsQueryDto {}

export class MarkReadDto {
  @ApiPropertyOptional({ example: 42, description: 'Mark read up to this seq (default: the latest message)' })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(0)
  @IsInt()
  @IsOptional()
  seq?: number;
}

export class ConversationRefDto implements ConversationRef {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 1, description: 'The participant who created the conversation' }) sender_id: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 2,
    description: 'The other participant; null for a group',
  })
  receiver_id: number | null;
}

export class ConversationDto extends ConversationRefDto implements Conversation {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) created_at: string;
  @ApiProperty({ example: 12, description: 'seq of the latest message (0 when there is none)' })
  last_seq: number;
  @ApiProperty({ type: () => MessageDto, nullable: true }) last_message: MessageDto | null;
  @ApiProperty({
    example: 3,
    description: "Messages of others after the caller's read mark (system messages do not count)",
  })
  unread_count: number;
  @ApiProperty({ enum: CONVERSATION_TYPES }) type: ConversationType;
  @ApiProperty({ type: String, nullable: true, example: 'Weekend trip', description: 'null for direct' })
  title: string | null;
  @ApiProperty({ example: 2 }) member_count: number;
  @ApiProperty({ type: Object, example: {} }) metadata: Metadata;
  @ApiProperty({
    example: 14,
    description: 'Change counter: each new message, edit, deletion, reaction change',
  })
  version: number;
  @ApiProperty({ enum: MEMBER_ROLES, description: "The caller's role" }) my_role: MemberRole;
  @ApiProperty({ description: 'Muted by the caller (still counts unread, no notifications)' }) muted: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'When a timed mute ends' })
  muted_until: string | null;
}

export class MemberDto implements Member {
  @ApiProperty({ type: UserDto }) user: UserDto;
  @ApiProperty({ enum: MEMBER_ROLES }) role: MemberRole;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) joined_at: string;
  @ApiProperty({ example: 12, description: 'Read receipt: every message up to this seq is read ("seen by")' })
  last_read_seq: number;
}

export class MemberPageDto implements MemberPage {
  @ApiProperty({ type: [MemberDto], description: 'In user id order' }) members: MemberDto[];
  @ApiProperty({ type: String, nullable: true }) next_cursor: string | null;
}

export class AddedMembersDto {
  @ApiProperty({ type: [Number], description: 'The users who were not members and are now' }) added: number[];
}

export class UnreadSummaryDto implements UnreadSummary {
  @ApiProperty({ example: 7 }) total_unread: number;
  @ApiProperty({ example: 2 }) unread_conversations: number;
}

export class ConversationPageDto implements ConversationPage {
  @ApiProperty({ type: [ConversationDto] }) conversations: ConversationDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as ?cursor= for the next page; null on the last',
  })
  next_cursor: string | null;
}

export class ReadMarkDto implements ReadMark {
  @ApiProperty({ example: 1 }) conversationId: number;
  @ApiProperty({ example: 42, description: "The caller's read mark after the call" }) seq: number;
}
