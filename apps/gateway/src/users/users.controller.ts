import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { UserDto, UserLookupQueryDto } from '@parley/contracts';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { UsersService } from './users.service.js';

/** Public profiles (id, username, display name): what a client needs to show who it talks to. */
@ApiTags('users')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (user lookups, per user)' })
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOkResponse({ type: UserDto, description: 'The caller' })
  me(@CurrentUserId() userId: number): Promise<UserDto> {
    return this.users.get(userId, userId);
  }

  @Get()
  @ApiOkResponse({ type: UserDto, description: 'The user with this username' })
  @ApiNotFoundResponse({ description: 'User not found' })
  findByUsername(@CurrentUserId() userId: number, @Query() query: UserLookupQueryDto): Promise<UserDto> {
    return this.users.findByUsername(userId, query.username);
  }

  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'User not found' })
  get(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<UserDto> {
    return this.users.get(userId, id);
  }
}
