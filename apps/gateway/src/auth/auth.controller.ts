import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AuthResultDto, LoginDto, RefreshDto, RefreshResultDto, RegisterDto } from '@parley/contracts';
import { AuthService } from './auth.service.js';
import { Public } from './public.decorator.js';

@ApiTags('auth')
@Public()
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @ApiCreatedResponse({ type: AuthResultDto, description: 'The new user and their first tokens' })
  @ApiConflictResponse({ description: 'Username is already taken' })
  register(@Body() dto: RegisterDto): Promise<AuthResultDto> {
    return this.auth.register(dto);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: AuthResultDto })
  @ApiUnauthorizedResponse({ description: 'Invalid username or password (it does not say which)' })
  login(@Body() dto: LoginDto): Promise<AuthResultDto> {
    return this.auth.login(dto);
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOkResponse({
    type: RefreshResultDto,
    description: 'A new access token and the successor of the refresh token',
  })
  @ApiUnauthorizedResponse({ description: 'Invalid, expired or already used refresh token' })
  async refresh(@Body() dto: RefreshDto): Promise<RefreshResultDto> {
    return { tokens: await this.auth.refresh(dto.refresh) };
  }
}
