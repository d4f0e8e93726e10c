import { Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { BlockedUsersDto, UserDto, UserLookupQueryDto } from '@parley/contracts';
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

  @Get('me/blocks')
  @ApiOkResponse({ type: BlockedUsersDto, description: 'The users the caller blocked' })
  async blocks(@CurrentUserId() userId: number): Promise<BlockedUsersDto> {
    return { users: await this.users.blocks(userId) };
  }

  @Put(':id/block')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Blocked (idempotent)' })
  @ApiBadRequestResponse({ description: 'Cannot block yourself; Too many blocked users' })
  @ApiNotFoundResponse({ description: 'User not found' })
  block(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.users.block(userId, id);
  }

  @Delete(':id/block')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Unblocked (idempotent)' })
  unblock(@CurrentUserId() userId: number, @Param('id', ParseIdPipe) id: number): Promise<void> {
    return this.users.unblock(userId, id);
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
