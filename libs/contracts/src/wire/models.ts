// Wire models: what clients receive. Plain types only (no decorators), so browsers and the SDK can import them.

export type Id = number;
/** ISO 8601 timestamp in UTC. */
export type Timestamp = string;

/** What a client may send. */
export const MESSAGE_TYPES = ['text', 'image', 'file'] as const;
export type SendableMessageType = (typeof MESSAGE_TYPES)[number];
/** What a message may be: a client's, or a `system` one recording a membership or group change. */
export type MessageType = (typeof MESSAGE_TYPES)[number] | 'system';

export const CONVERSATION_TYPES = ['direct', 'group'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];

/** Seed 001's roles of a user (none by default): students are assigned a mentor, a TEACHER or TRAINER. */
export const USER_ROLES = ['STUDENT', 'TEACHER', 'TRAINER'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A public profile with the user's role (seed 001's `sender_profile`). */
export interface UserProfile extends User {
  role: UserRole | null;
}

export const MEMBER_ROLES = ['owner', 'admin', 'member'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const SYSTEM_ACTIONS = [
  'created',
  'member_added',
  'member_removed',
  'member_left',
  'role_changed',
  'group_updated',
] as const;
export type SystemAction = (typeof SYSTEM_ACTIONS)[number];

/** A JSON object of the client's (conversations and messages), at most 2 KB serialized and 3 levels deep. */
export type Metadata = Record<string, unknown>;

export const ATTACHMENT_TYPES = ['image', 'video', 'audio', 'file'] as const;
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];

/** A file a message carries (at most 10): where it is and what the client said about it. Stored as given. */
export interface Attachment {
  type: AttachmentType;
  /** An http(s) URL. */
  url: string;
  name?: string;
  mime_type?: string;
  /** Bytes. */
  size?: number;
  /** Pixels, for images and video. */
  width?: number;
  height?: number;
}

/** How many users reacted to a message with one emoji. */
export interface ReactionCount {
  emoji: string;
  count: number;
}

export const MESSAGE_CHANGE_KINDS = ['edited', 'deleted', 'reaction_added', 'reaction_removed'] as const;
export type MessageChangeKind = (typeof MESSAGE_CHANGE_KINDS)[number];

/** What changed a message, and who did it (`emoji` for reaction changes). */
export interface MessageChange {
  kind: MessageChangeKind;
  user_id: Id;
  emoji?: string;
}

export interface User {
  id: Id;
  username: string;
  display_name: string;
  created_at: Timestamp;
}

export interface AuthTokens {
  access: string;
  refresh: string;
}

export interface AuthResult {
  user: User;
  tokens: AuthTokens;
}

/** The conversation as embedded in every message (seed 003). */
export interface ConversationRef {
  id: Id;
  /** The participant who created the conversation. */
  sender_id: Id;
  /** The other participant of a direct conversation; null for a group. */
  receiver_id: Id | null;
}

/** What a system message records: the change, who made it, and whom it concerns. */
export interface SystemInfo {
  action: SystemAction;
  actor_id: Id;
  user_ids: Id[];
}

export interface Message {
  id: Id;
  sender_id: Id;
  conversation_id: Id;
  /** 1, 2, 3… within the conversation, without gaps, in commit order. */
  seq: number;
  timestamp: Timestamp;
  message_type: MessageType;
  content: string;
  client_message_id: string | null;
  conversation: ConversationRef;
  /** The conversation's `version` of this message's latest change (its creation, an edit, a deletion, a reaction). */
  version: number;
  edited_at: Timestamp | null;
  /** Set on a tombstone: its content is empty, its attachments, metadata and reactions are gone. */
  deleted_at: Timestamp | null;
  /** The message of the same conversation this one replies to. */
  reply_to_id: Id | null;
  attachments: Attachment[];
  metadata: Metadata;
  /** Most used first. */
  reactions: ReactionCount[];
  /** The caller's own reactions: only in history pages and `recent-messages`. */
  my_reactions?: string[];
  /** Only on `message_type: 'system'` messages. */
  system?: SystemInfo;
}

export interface Conversation extends ConversationRef {
  created_at: Timestamp;
  last_seq: number;
  last_message: Message | null;
  /** Messages of others after the caller's read mark (system messages do not count). */
  unread_count: number;
  type: ConversationType;
  /** 1–100 characters for a group; null for a direct conversation. */
  title: string | null;
  member_count: number;
  metadata: Metadata;
  /** The conversation's change counter: 1, 2, 3… for each new message, edit, deletion and reaction change. */
  version: number;
  /** The caller's role: `owner` and `admin` exist in groups; both users of a direct conversation are `member`. */
  my_role: MemberRole;
  /** The caller muted it: it still counts unread, but raises no notification. */
  muted: boolean;
  /** When a timed mute ends; null when not muted or muted until unmuted. */
  muted_until: Timestamp | null;
}

/** A member of a conversation, with their read receipt. */
export interface Member {
  user: User;
  role: MemberRole;
  joined_at: Timestamp;
  /** Every message up to this seq is read by this member ("seen by"). */
  last_read_seq: number;
}

export interface MemberPage {
  members: Member[];
  next_cursor: string | null;
}

export interface UnreadSummary {
  /** Unread messages over all of the caller's conversations. */
  total_unread: number;
  /** Conversations with at least one unread message. */
  unread_conversations: number;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor: string | null;
}

export interface MessagePage {
  /** In ascending `seq` (ascending `version` for a page by version). */
  messages: Message[];
  has_more: boolean;
}

export interface ReadMark {
  conversationId: Id;
  /** The caller's read mark after the call. */
  seq: number;
}
