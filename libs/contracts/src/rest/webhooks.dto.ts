import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  WEBHOOK_EVENT_TYPES,
  webhookLimits,
  type WebhookDeadLetter,
  type WebhookEndpoint,
  type WebhookEventType,
} from '../wire/webhooks.js';
import { IsStorableText } from './validators.js';

const URL_RULES = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

/** `POST /api/admin/webhooks`. */
export class CreateWebhookDto {
  @ApiProperty({ example: 'https://app.example.com/parley/events', maxLength: webhookLimits.urlMaxLength })
  @IsUrl(URL_RULES)
  @MaxLength(webhookLimits.urlMaxLength)
  @IsString()
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['message.new', 'member.added'] })
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  @ArrayUnique()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayMinSize(1)
  @IsArray()
  events: WebhookEventType[];

  @ApiPropertyOptional({ example: 'CRM sync', maxLength: webhookLimits.descriptionMaxLength, nullable: true })
  @IsStorableText()
  @MaxLength(webhookLimits.descriptionMaxLength)
  @IsString()
  @ValidateIf((dto: CreateWebhookDto) => dto.description !== undefined && dto.description !== null)
  description?: string | null;

  @ApiPropertyOptional({ default: true, description: 'A disabled endpoint gets no new events' })
  @IsBoolean()
  @IsOptional()
  enabled?: boolean;
}

/** `PATCH /api/admin/webhooks/:id`: what is given changes. */
export class UpdateWebhookDto {
  @ApiPropertyOptional({ example: 'https://app.example.com/parley/events' })
  @IsUrl(URL_RULES)
  @MaxLength(webhookLimits.urlMaxLength)
  @IsString()
  @IsOptional()
  url?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  @ArrayUnique()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayMinSize(1)
  @IsArray()
  @IsOptional()
  events?: WebhookEventType[];

  @ApiPropertyOptional({ maxLength: webhookLimits.descriptionMaxLength, nullable: true })
  @IsStorableText()
  @MaxLength(webhookLimits.descriptionMaxLength)
  @IsString()
  @ValidateIf((dto: UpdateWebhookDto) => dto.description !== undefined && dto.description !== null)
  description?: string | null;

  @ApiPropertyOptional({ description: 'false: no new events; its pending deliveries wait until enabled' })
  @IsBoolean()
  @IsOptional()
  enabled?: boolean;
}

/** `?before_id=&limit=` of the dead letters. */
export class DeadLettersQueryDto {
  @ApiPropertyOptional({ description: 'The last id of the previous page' })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  before_id?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: webhookLimits.deadLettersPageMax, default: 50 })
  @Max(webhookLimits.deadLettersPageMax)
  @Min(1)
  @IsInt()
  @Type(() => Number)
  @IsOptional()
  limit?: number;
}

export class WebhookEndpointDto implements WebhookEndpoint {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'https://app.example.com/parley/events' }) url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: WebhookEventType[];
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ example: '2026-12-03T10:00:00.000Z' }) created_at: string;
  @ApiProperty({ example: '2026-12-03T10:00:00.000Z' }) updated_at: string;
  @ApiProperty({ description: 'Deliveries waiting for an attempt or a retry' }) pending: number;
  @ApiProperty({ description: 'Deliveries whose retries ran out' }) dead: number;
  @ApiPropertyOptional({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description: 'The signing secret: only in the answer to a create or a rotate-secret',
  })
  secret?: string;
}

export class WebhookEndpointListDto {
  @ApiProperty({ type: [WebhookEndpointDto] }) endpoints: WebhookEndpointDto[];
}

export class WebhookDeadLetterDto implements WebhookDeadLetter {
  @ApiProperty() id: number;
  @ApiProperty({ format: 'uuid' }) event_id: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) type: WebhookEventType;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String, example: 'HTTP 500' }) last_error: string | null;
  @ApiProperty() created_at: string;
  @ApiProperty() dead_at: string;
}

export class WebhookDeadLetterPageDto {
  @ApiProperty({ type: [WebhookDeadLetterDto] }) dead_letters: WebhookDeadLetterDto[];
}

export class WebhookReplayDto {
  @ApiProperty({ description: 'Dead letters due again' }) replayed: number;
}
