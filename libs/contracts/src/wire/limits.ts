/** Input limits of the contract. The content limit can be raised or lowered per deployment (gateway config). */
export const Limits = {
  usernamePattern: /^[A-Za-z0-9_.-]+$/,
  usernameMinLength: 3,
  usernameMaxLength: 32,
  passwordMinLength: 8,
  passwordMaxLength: 128,
  displayNameMaxLength: 64,
  /** RFC 5321's longest address. */
  emailMaxLength: 254,
  clientMessageIdMaxLength: 64,
  pageSizeDefault: 20,
  pageSizeMax: 100,
  /** `join-conversation` without `since_seq` returns this many of the latest messages. */
  recentMessagesOnJoin: 50,
  /** `join-conversation` with `since_seq` returns at most this many; the rest is paged over REST. */
  catchUpMax: 100,
  titleMaxLength: 100,
  /** The most members a group may have (the deployment's GROUP_MAX_MEMBERS may lower it, never raise it). */
  groupMembersMax: 10_000,
  /** Serialized size and depth of a metadata object. */
  metadataMaxBytes: 2048,
  metadataMaxDepth: 3,
  /** Blocked users per user. */
  blocksMax: 1000,
  /** Attachments per message, and the lengths of their fields. */
  attachmentsMax: 10,
  urlMaxLength: 2048,
  attachmentNameMaxLength: 255,
  mimeTypeMaxLength: 127,
  /** Pixels of an attachment's width or height. */
  attachmentDimensionMax: 100_000,
  /** A reaction's emoji, in UTF-16 code units (a flag or a family of four fits). */
  emojiMaxLength: 32,
  /** Distinct emojis on one message. */
  reactionsPerMessageMax: 20,
} as const;

/** Mutable so a deployment can change it at boot (`MESSAGE_MAX_LENGTH`); validators read it at validation time. */
export const messageLimits = { contentMaxLength: 4000 };

/**
 * The largest Socket.IO frame a gateway accepts: the largest valid event, a `send-message` whose content, metadata and
 * attachments are as long as they may be, in characters that each take the most JSON can make of one (`\u0001` is 6 bytes), plus its
 * other fields and the framing. Anything bigger closes the connection before it is parsed.
 */
export function socketFrameMaxBytes(contentMaxLength: number): number {
  const attachment = Limits.urlMaxLength + Limits.attachmentNameMaxLength + Limits.mimeTypeMaxLength + 200; // + keys, numbers
  return (
    6 * contentMaxLength +
    6 * Limits.clientMessageIdMaxLength +
    6 * Limits.metadataMaxBytes +
    6 * Limits.attachmentsMax * attachment +
    1024
  );
}

/** Input is never nested deeper than this, nor has more values: checked before validation, without recursion. */
export const payloadShapeLimits = { maxDepth: 8, maxValues: 1000 } as const;
