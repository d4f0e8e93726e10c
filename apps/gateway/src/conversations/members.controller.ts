import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  AddedMembersDto,
  AddMembersDto,
  ConversationDto,
  Limits,
  MemberPageDto,
  MembersQueryDto,
  SetRoleDto,
} from '@parley/contracts';
import { CurrentUserId } from '../auth/current-user.decorator.js';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { MembersService } from './members.service.js';

@ApiTags('members')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded (per user, shared with Socket.IO)' })
@ApiServiceUnavailableResponse({ description: 'Service busy, retry later' })
@ApiNotFoundResponse({ description: 'Conversation not found, or User not found' })
@ApiForbiddenResponse({
  description: 'Not a member (Unauthorized to access this conversation), or Not allowed',
})
@Controller('chats/conversations/:id/members')
export class MembersController {
  constructor(private readonly members: MembersService) {}

  @Get()
  @ApiOkResponse({ type: MemberPageDto, description: 'Members with their read receipts (last_read_seq)' })
  list(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Query() query: MembersQueryDto,
  ): Promise<MemberPageDto> {
    return this.members.list(userId, id, query.cursor ?? null, query.limit ?? Limits.pageSizeDefault);
  }

  @Post()
  @HttpCode(200)
  @ApiOkResponse({ type: AddedMembersDto, description: 'Owner and admins; members already in are skipped' })
  @ApiBadRequestResponse({ description: 'Direct conversations have exactly two members; too many members' })
  async add(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: AddMembersDto,
  ): Promise<AddedMembersDto> {
    return { added: await this.members.add(userId, id, dto.user_ids) };
  }

  @Delete(':userId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Removed (or, for yourself, left)' })
  @ApiBadRequestResponse({ description: 'Direct conversations have exactly two members' })
  remove(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('userId', ParseIdPipe) memberId: number,
  ): Promise<void> {
    return this.members.remove(userId, id, memberId);
  }

  @Patch(':userId')
  @ApiOkResponse({ type: ConversationDto, description: 'The owner only' })
  @ApiBadRequestResponse({ description: 'Direct conversations have exactly two members' })
  async setRole(
    @CurrentUserId() userId: number,
    @Param('id', ParseIdPipe) id: number,
    @Param('userId', ParseIdPipe) memberId: number,
    @Body() dto: SetRoleDto,
  ): Promise<ConversationDto> {
    return (await this.members.setRole(userId, id, memberId, dto.role))!;
  }
}
