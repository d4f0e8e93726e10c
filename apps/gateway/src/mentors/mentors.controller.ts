import { Body, Controller, Delete, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AssignMentorDto, MentorAssignmentDto, SetUserRoleDto, UserProfileDto } from '@parley/contracts';
import { Public } from '@parley/observability';
import { ParseIdPipe } from '../common/parse-id.pipe.js';
import { AdminTokenGuard } from '../common/admin-token.guard.js';
import { MentorsService } from './mentors.service.js';

/** The admin API of seed 001's roles and mentor assignments (Bearer ADMIN_TOKEN, not a user's token). */
@ApiTags('admin')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'Admin token required' })
@Public()
@UseGuards(AdminTokenGuard)
@Controller('admin/users')
export class MentorsController {
  constructor(private readonly mentors: MentorsService) {}

  @Put(':id/role')
  @ApiOkResponse({ type: UserProfileDto, description: 'The user with the new role' })
  @ApiNotFoundResponse({ description: 'User not found' })
  setRole(@Param('id', ParseIdPipe) id: number, @Body() dto: SetUserRoleDto): Promise<UserProfileDto> {
    return this.mentors.setRole(id, dto.role);
  }

  @Put(':id/mentor')
  @ApiOkResponse({ type: MentorAssignmentDto, description: 'The student (:id) and their mentor' })
  @ApiBadRequestResponse({ description: 'A mentor must be a TEACHER or TRAINER' })
  @ApiNotFoundResponse({ description: 'User not found' })
  assign(@Param('id', ParseIdPipe) id: number, @Body() dto: AssignMentorDto): Promise<MentorAssignmentDto> {
    return this.mentors.assign(id, dto.mentor_id);
  }

  @Delete(':id/mentor')
  @HttpCode(200)
  @ApiOkResponse({ type: MentorAssignmentDto, description: 'The student (:id), now without a mentor' })
  unassign(@Param('id', ParseIdPipe) id: number): Promise<MentorAssignmentDto> {
    return this.mentors.assign(id, null);
  }
}
