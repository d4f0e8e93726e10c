import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { isP256PublicKey, isPushAuthSecret, PushLimits } from '../push/push.js';
import { TextLength } from './validators.js';

function IsKey(
  name: string,
  test: (text: string) => boolean,
  what: string,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && test(value),
        defaultMessage: (args) => `${args?.property} must be ${what}`,
      },
    },
    options,
  );
}

/** The browser's PushSubscription `keys`, as `PushSubscription.toJSON()` gives them. */
export class PushSubscriptionKeysDto {
  @ApiProperty({
    description: "The browser's P-256 ECDH public key, uncompressed (65 bytes), base64url",
    maxLength: PushLimits.p256dhMaxLength,
    example: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
  })
  @IsKey('isP256PublicKey', isP256PublicKey, 'a base64url-encoded uncompressed P-256 public key (65 bytes)')
  @TextLength(1, PushLimits.p256dhMaxLength)
  @IsString()
  p256dh: string;

  @ApiProperty({
    description: 'The 16-byte authentication secret, base64url',
    maxLength: PushLimits.authMaxLength,
    example: 'tBHItJI5svbpez7KI4CCXg',
  })
  @IsKey('isPushAuthSecret', isPushAuthSecret, 'a base64url-encoded 16-byte secret')
  @TextLength(1, PushLimits.authMaxLength)
  @IsString()
  auth: string;
}

/** `PushSubscription.toJSON()` of a browser, as it is. */
export class CreatePushSubscriptionDto {
  @ApiProperty({
    description:
      'The push service URL the server POSTs notifications to: https, and not a loopback or private address',
    maxLength: PushLimits.endpointMaxLength,
    example: 'https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH…',
  })
  @TextLength(1, PushLimits.endpointMaxLength)
  @IsString()
  endpoint: string;

  @ApiProperty({ type: PushSubscriptionKeysDto })
  @ValidateNested()
  @Type(() => PushSubscriptionKeysDto)
  @IsObject()
  @IsDefined()
  keys: PushSubscriptionKeysDto;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: 'When the subscription expires (ms since the epoch), as the browser says; usually null',
  })
  @Max(8_640_000_000_000_000)
  @Min(0)
  @IsInt()
  @IsOptional()
  expirationTime?: number | null;
}

/** The subscription to remove, in the body or the query string. */
export class PushEndpointDto {
  @ApiPropertyOptional({ maxLength: PushLimits.endpointMaxLength })
  @TextLength(1, PushLimits.endpointMaxLength)
  @IsString()
  @IsOptional()
  endpoint?: string;
}

export class PushSubscriptionDto {
  @ApiProperty({ example: 12 }) id: number;
  @ApiProperty({ example: '2025-12-07T10:00:00.000Z' }) created_at: string;
  @ApiProperty({ description: 'True when the endpoint was registered before (by this or another user)' })
  replaced: boolean;
}

export class PushPublicKeyDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "The VAPID public key: PushManager.subscribe's applicationServerKey (base64url); null: push is off",
  })
  public_key: string | null;
}
