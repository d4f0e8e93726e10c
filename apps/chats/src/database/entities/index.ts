import { ConversationEntity } from './conversation.entity.js';
import { MembershipEventEntity } from './membership-event.entity.js';
import { MentorAssignmentEntity } from './mentor-assignment.entity.js';
import { MessageReactionEntity } from './message-reaction.entity.js';
import { MessageEntity } from './message.entity.js';
import { ParticipantEntity } from './participant.entity.js';
import { PushSubscriptionEntity } from './push-subscription.entity.js';
import { SessionEntity } from './session.entity.js';
import { UserBlockEntity } from './user-block.entity.js';
import { UserEntity } from './user.entity.js';
import {
  WebhookDeadLetterEntity,
  WebhookDeliveryEntity,
  WebhookEndpointEntity,
  WebhookEventEntity,
} from './webhook.entities.js';

export {
  ConversationEntity,
  MembershipEventEntity,
  MentorAssignmentEntity,
  MessageEntity,
  MessageReactionEntity,
  ParticipantEntity,
  PushSubscriptionEntity,
  SessionEntity,
  UserBlockEntity,
  UserEntity,
  WebhookDeadLetterEntity,
  WebhookDeliveryEntity,
  WebhookEndpointEntity,
  WebhookEventEntity,
};
export const entities = [
  UserEntity,
  SessionEntity,
  ConversationEntity,
  ParticipantEntity,
  MessageEntity,
  MembershipEventEntity,
  UserBlockEntity,
  MessageReactionEntity,
  MentorAssignmentEntity,
  WebhookEndpointEntity,
  WebhookEventEntity,
  WebhookDeliveryEntity,
  WebhookDeadLetterEntity,
  PushSubscriptionEntity,
];
