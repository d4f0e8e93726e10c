import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { Limits } from '../wire/limits.js';
import type { Conversation, ConversationPage, ConversationRef, ReadMark } from '../wire/models.js';
import { MessageDto } from './messages.dto.js';
import { IsId } from './validators.js';

export class CreateConversationDto {
  @ApiPropertyOptional({ example: 1, description: 'Seed 003 compatibility: when given, must be the caller' })
  @IsId()
  @IsOptional()
  sender_id?: number;

  @ApiProperty({ example: 2, description: 'The other participant' })
  @IsId()
  receiver_id: number;
}

export class ListConversationsQueryDto {
  @ApiPropertyOptional({ description: 'Opaque cursor from next_cursor of the previous page' })
  @Length(1, 200)
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
  @ApiProperty({ example: 2, description: 'The other participant' }) receiver_id: number;
}

export class ConversationDto extends ConversationRefDto implements Conversation {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) created_at: string;
  @ApiProperty({ example: 12, description: 'seq of the latest message (0 when there is none)' })
  last_seq: number;
  @ApiProperty({ type: () => MessageDto, nullable: true }) last_message: MessageDto | null;
  @ApiProperty({ example: 3, description: "Messages of the other participant after the caller's read mark" })
  unread_count: number;
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
