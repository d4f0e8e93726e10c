import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsJWT, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { Limits } from '../wire/limits.js';
import type { AuthResult, AuthTokens, User } from '../wire/models.js';
import { IsStorableText, TextLength } from './validators.js';

export class RegisterDto {
  @ApiProperty({ example: 'alice', minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' })
  @Matches(Limits.usernamePattern, { message: 'username may contain only letters, digits, _ . and -' })
  @TextLength(Limits.usernameMinLength, Limits.usernameMaxLength)
  @IsString()
  username: string;

  @ApiProperty({ example: 'correct horse battery', minLength: 8, maxLength: 128 })
  @IsStorableText()
  @TextLength(Limits.passwordMinLength, Limits.passwordMaxLength)
  @IsString()
  password: string;

  @ApiPropertyOptional({ example: 'Alice Liddell', maxLength: 64, description: 'Defaults to the username' })
  @IsStorableText()
  @TextLength(1, Limits.displayNameMaxLength)
  @IsString()
  @IsOptional()
  display_name?: string;

  @ApiPropertyOptional({
    example: 'alice@example.com',
    maxLength: Limits.emailMaxLength,
    description: "Optional, unique without case; never shown to others. Seed 004's clients log in with it",
  })
  @IsEmail({}, { message: 'email must be an email' })
  @MaxLength(Limits.emailMaxLength)
  @IsString()
  @IsOptional()
  email?: string;
}

export class LoginDto {
  @ApiProperty({ example: 'alice' })
  @TextLength(1, 128)
  @IsString()
  username: string;

  @ApiProperty({ example: 'correct horse battery' })
  @TextLength(1, 1024)
  @IsString()
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from register, login or an earlier refresh (used once)' })
  @IsJWT()
  @IsNotEmpty()
  @IsString()
  refresh: string;
}

export class LogoutDto {
  @ApiPropertyOptional({
    description:
      "The session's refresh token: names the session to end when the access token does not (an older token)",
  })
  @IsJWT()
  @IsString()
  @IsOptional()
  refresh?: string;
}

export class UserDto implements User {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'alice' }) username: string;
  @ApiProperty({ example: 'Alice Liddell' }) display_name: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) created_at: string;
}

export class TokensDto implements AuthTokens {
  @ApiProperty({ description: 'JWT access token (Authorization: Bearer …, Socket.IO auth.token)' })
  access: string;
  @ApiProperty({ description: 'JWT refresh token; rotates on every use' }) refresh: string;
}

export class AuthResultDto implements AuthResult {
  @ApiProperty({ type: UserDto }) user: UserDto;
  @ApiProperty({ type: TokensDto }) tokens: TokensDto;
}

export class RefreshResultDto {
  @ApiProperty({ type: TokensDto }) tokens: TokensDto;
}

export class UserLookupQueryDto {
  @ApiProperty({ example: 'alice', description: 'Exact username (case-insensitive)' })
  @Matches(Limits.usernamePattern, { message: 'username may contain only letters, digits, _ . and -' })
  @TextLength(Limits.usernameMinLength, Limits.usernameMaxLength)
  @IsString()
  username: string;
}

export class BlockedUsersDto {
  @ApiProperty({ type: [UserDto], description: 'Oldest block first' }) users: UserDto[];
}
