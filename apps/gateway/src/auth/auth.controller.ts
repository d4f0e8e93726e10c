import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  AuthResultDto,
  LoginDto,
  LogoutDto,
  RefreshDto,
  RefreshResultDto,
  RegisterDto,
} from '@parley/contracts';
import { Public } from '@parley/observability';
import { AuthService } from './auth.service.js';
import { CurrentSessionId, CurrentUserId } from './current-user.decorator.js';

@ApiTags('auth')
@ApiTooManyRequestsResponse({
  description:
    'Too many attempts, retry later: too many requests from this address, or failed logins of this username (Retry-After)',
})
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('register')
  @ApiCreatedResponse({
    type: AuthResultDto,
    description: 'The new user and the tokens of their first session',
  })
  @ApiConflictResponse({ description: 'Username is already taken' })
  register(@Body() dto: RegisterDto, @Ip() address: string): Promise<AuthResultDto> {
    return this.auth.register(dto, address);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: AuthResultDto, description: 'The user and the tokens of a new session' })
  @ApiUnauthorizedResponse({ description: 'Invalid username or password (it does not say which)' })
  login(@Body() dto: LoginDto, @Ip() address: string): Promise<AuthResultDto> {
    return this.auth.login(dto, address);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOkResponse({
    type: RefreshResultDto,
    description: 'A new access token and the successor of the refresh token (the same session)',
  })
  @ApiUnauthorizedResponse({
    description: 'Invalid, expired or already used refresh token, or its session ended (a replay ends it)',
  })
  async refresh(@Body() dto: RefreshDto, @Ip() address: string): Promise<RefreshResultDto> {
    return { tokens: await this.auth.refresh(dto.refresh, address) };
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiNoContentResponse({
    description:
      "Ended the caller's session: its refresh tokens are refused and its sockets closed, everywhere",
  })
  async logout(
    @CurrentUserId() userId: number,
    @CurrentSessionId() sessionId: string | undefined,
    @Body() dto: LogoutDto,
    @Ip() address: string,
  ): Promise<void> {
    await this.auth.logout(userId, sessionId, dto.refresh, address);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'Ended every session of the caller, this one included' })
  async logoutAll(@CurrentUserId() userId: number, @Ip() address: string): Promise<void> {
    await this.auth.logoutAll(userId, address);
  }
}
