import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';
import { USER_ROLES, type UserProfile, type UserRole } from '../wire/models.js';
import { UserDto } from './auth.dto.js';

/** `PUT /api/admin/users/:id/role` (seed 001's roles). */
export class SetUserRoleDto {
  @ApiProperty({ enum: USER_ROLES, nullable: true, example: 'STUDENT', description: 'null: no role' })
  @IsIn(USER_ROLES)
  @ValidateIf((_, value) => value !== null)
  role: UserRole | null;
}

/** `PUT /api/admin/users/:id/mentor`: the student's mentor (a TEACHER or TRAINER). */
export class AssignMentorDto {
  @ApiProperty({ example: 2, description: 'A user whose role is TEACHER or TRAINER' })
  @Max(Number.MAX_SAFE_INTEGER)
  @Min(1)
  @IsInt()
  mentor_id: number;
}

export class UserProfileDto extends UserDto implements UserProfile {
  @ApiProperty({ enum: USER_ROLES, nullable: true }) role: UserRole | null;
}

export class MentorAssignmentDto {
  @ApiProperty({ example: 1 }) student_id: number;
  @ApiProperty({ example: 2, nullable: true, type: Number }) mentor_id: number | null;
}
