import { InitialSchema1763712000000 } from './1763712000000-initial-schema.js';
import { SendMessagesFunction1763740000000 } from './1763740000000-send-messages-function.js';
import { Sessions1764600000000 } from './1764600000000-sessions.js';
import { Groups1764700000000 } from './1764700000000-groups.js';
import { MessageLifecycle1764800000000 } from './1764800000000-message-lifecycle.js';
import { UserProfiles1764900000000 } from './1764900000000-user-profiles.js';
import { Webhooks1765000000000 } from './1765000000000-webhooks.js';
import { PushSubscriptions1765100000000 } from './1765100000000-push-subscriptions.js';

/** Every migration, oldest first. Add new ones at the end. */
export const migrations = [
  InitialSchema1763712000000,
  SendMessagesFunction1763740000000,
  Sessions1764600000000,
  Groups1764700000000,
  MessageLifecycle1764800000000,
  UserProfiles1764900000000,
  Webhooks1765000000000,
  PushSubscriptions1765100000000,
];
