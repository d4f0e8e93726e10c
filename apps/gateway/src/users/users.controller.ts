import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { UserDto, UserLookupQueryDto } from '@parley/contracts';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';

/** Public profiles (id, username, display name): what a client needs to show who it talks to. */
@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly rpc: ChatsRpcClient) {}

  @Get('me')
  @ApiOkResponse({ type: UserDto, description: 'The caller' })
  me(@CurrentUserId() userId: number): Promise<UserDto> {
    return this.rpc.call('users.get', { user_id: userId });
  }

  @Get()
  @ApiOkResponse({ type: UserDto, description: 'The user with this username' })
  @ApiNotFoundResponse({ description: 'User not found' })
  findByUsername(@Query() query: UserLookupQueryDto): Promise<UserDto> {
    return this.rpc.call('users.find-by-username', { username: query.username });
  }

  @Get(':id')
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'User not found' })
  get(@Param('id', ParseIdPipe) id: number): Promise<UserDto> {
    return this.rpc.call('users.get', { user_id: id });
  }
}
