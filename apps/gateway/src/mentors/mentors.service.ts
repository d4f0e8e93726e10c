import { Injectable } from '@nestjs/common';
import { ErrorMessages, type Id, type UserProfile, type UserRole } from '@parley/contracts';
import { AppError } from '../common/app.error.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { ChatsRpcClient } from '../rpc/chats-rpc.client.js';
import type { Conversation } from '@parley/contracts';

/**
 * Seed 001's roles and mentors: the admin API sets them; a student's `my-conversation` is the direct conversation
 * with the mentor assigned to them, created on first use.
 */
@Injectable()
export class MentorsService {
  constructor(
    private readonly rpc: ChatsRpcClient,
    private readonly conversations: ConversationsService,
  ) {}

  setRole(userId: Id, role: UserRole | null): Promise<UserProfile> {
    return this.rpc.call('users.set-role', { user_id: userId, role });
  }

  assign(studentId: Id, mentorId: Id | null) {
    return this.rpc.call('mentors.assign', { student_id: studentId, mentor_id: mentorId });
  }

  /** The student's conversation with their mentor (created when it does not exist yet). */
  async myConversation(studentId: Id): Promise<Conversation> {
    const { mentor_id } = await this.rpc.call('mentors.of', { student_id: studentId });
    if (mentor_id === null) throw new AppError(404, ErrorMessages.noMentor);
    return (await this.conversations.createDirect(studentId, mentor_id)).conversation;
  }
}
