import { ConversationEntity } from './conversation.entity.js';
import { MessageEntity } from './message.entity.js';
import { ParticipantEntity } from './participant.entity.js';
import { SessionEntity } from './session.entity.js';
import { UserEntity } from './user.entity.js';

export { ConversationEntity, MessageEntity, ParticipantEntity, SessionEntity, UserEntity };
export const entities = [UserEntity, SessionEntity, ConversationEntity, ParticipantEntity, MessageEntity];
