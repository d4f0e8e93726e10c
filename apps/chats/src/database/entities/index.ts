import { ConversationEntity } from './conversation.entity.js';
import { MessageEntity } from './message.entity.js';
import { ParticipantEntity } from './participant.entity.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { UserEntity } from './user.entity.js';

export { ConversationEntity, MessageEntity, ParticipantEntity, RefreshTokenEntity, UserEntity };
export const entities = [
  UserEntity,
  RefreshTokenEntity,
  ConversationEntity,
  ParticipantEntity,
  MessageEntity,
];
