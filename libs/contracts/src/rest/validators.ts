import { IsInt, IsNotEmpty, isURL, maxLength, ValidateBy, type ValidationOptions } from 'class-validator';
import { ErrorMessages } from '../wire/errors.js';
import { Limits, messageLimits } from '../wire/limits.js';

/**
 * An id: a positive safe integer. For a missing value it reports exactly what seed 003 documents
 * (`sender_id should not be empty, sender_id must be an integer number`); positivity is reported only for
 * integers, so it does not add a third message to that string.
 */
export function IsId(options?: ValidationOptions): PropertyDecorator {
  return (target, key) => {
    IsNotEmpty(options)(target, key);
    IsInt(options)(target, key);
    IsPositiveIfInteger(options)(target, key);
  };
}

function IsPositiveIfInteger(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPositiveId',
      validator: {
        validate: (value: unknown) =>
          !Number.isInteger(value) ||
          ((value as number) >= 1 && (value as number) <= Number.MAX_SAFE_INTEGER),
        defaultMessage: (args) =>
          `${args?.property} must be a positive integer no greater than ${Number.MAX_SAFE_INTEGER}`,
      },
    },
    options,
  );
}

/**
 * Text Postgres can store exactly as given: no NUL characters (Postgres text cannot hold them) and no unpaired
 * UTF-16 surrogates (they would come back as U+FFFD, so the stored text would differ from what was sent).
 */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStorableText',
      validator: {
        validate: (value: unknown) =>
          typeof value !== 'string' || (!value.includes('\u0000') && value.isWellFormed()),
        defaultMessage: (args) =>
          `${args?.property} must be valid text (no NUL characters or unpaired surrogates)`,
      },
    },
    options,
  );
}

/**
 * class-validator's `@Length(min, max)` (or `@MaxLength(max)` with `min` 0), with its messages, but counting UTF-16
 * code units (`string.length`), as Limits and the rest of the stack do. class-validator counts a surrogate pair as
 * one and skips variation selectors, so its `Length(1, 32)` lets through strings that the chats service's schema
 * (code points) and Postgres (`varchar(32)`: code points) refuse; code units are never fewer than code points.
 */
export function TextLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length >= min && value.length <= max,
        // class-validator's wording, chosen as it chooses (a non-string gets the two-sided message).
        defaultMessage: (args) => {
          const property = args?.property;
          if (min === 0) return `${property} must be shorter than or equal to ${max} characters`;
          const length = (args?.value as { length?: number } | null | undefined)?.length;
          if (!args?.value || (length !== undefined && length < min)) {
            return `${property} must be longer than or equal to ${min} characters`;
          }
          if (length !== undefined && length > max) {
            return `${property} must be shorter than or equal to ${max} characters`;
          }
          return `${property} must be longer than or equal to ${min} and shorter than or equal to ${max} characters`;
        },
      },
    },
    options,
  );
}

/** `@MaxLength(messageLimits.contentMaxLength)`, read at validation time so a deployment can configure it. */
export function ContentMaxLength(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'maxLength',
      validator: {
        validate: (value: unknown) => maxLength(value, messageLimits.contentMaxLength),
        defaultMessage: (args) =>
          `${args?.property} must be shorter than or equal to ${messageLimits.contentMaxLength} characters`,
      },
    },
    options,
  );
}

/**
 * For image and file messages, `content` must be an http(s) URL. (Not `@ValidateIf`: that would switch off every
 * other validator of the property for text messages too.)
 */
export function IsUrlForMediaMessages(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isUrlForMediaMessages',
      validator: {
        validate: (value: unknown, args) => {
          const type = (args?.object as { message_type?: unknown } | undefined)?.message_type;
          if (type !== 'image' && type !== 'file') return true;
          return (
            typeof value === 'string' &&
            isURL(value, { protocols: ['http', 'https'], require_protocol: true, require_tld: false })
          );
        },
        defaultMessage: (args) => `${args?.property} must be an http(s) URL for image and file messages`,
      },
    },
    options,
  );
}

/**
 * `content` may be empty only for a text message with attachments (a message of files without a caption); else
 * class-validator's own `content should not be empty`.
 */
export function IsNotEmptyUnlessAttachments(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotEmpty',
      validator: {
        validate: (value: unknown, args) => {
          if (value !== '' && value !== null && value !== undefined) return true;
          const o = args?.object as { message_type?: unknown; attachments?: unknown } | undefined;
          return (
            value === '' &&
            o?.message_type === 'text' &&
            Array.isArray(o.attachments) &&
            o.attachments.length > 0
          );
        },
        defaultMessage: (args) => `${args?.property} should not be empty`,
      },
    },
    options,
  );
}

/** An http(s) URL (attachments). */
export function IsHttpUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHttpUrl',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          isURL(value, { protocols: ['http', 'https'], require_protocol: true, require_tld: false }),
        defaultMessage: (args) => `${args?.property} must be an http(s) URL`,
      },
    },
    options,
  );
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What is wrong with the shape of untrusted input before any validator walks it, or undefined: nested deeper than
 * `maxDepth`, more than `maxValues` values in all, or a key that could pollute prototypes if copied
 * (`__proto__`, `constructor`, `prototype`; class-transformer skips those silently, so whitelisting alone never
 * reports them). An explicit stack, never recursion: a 20,000-deep array must cost a few microseconds and a 400,
 * not the stack.
 */
export function payloadShapeProblem(
  value: unknown,
  limits: { maxDepth: number; maxValues: number },
): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  let values = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++values > limits.maxValues || depth > limits.maxDepth) return ErrorMessages.payloadTooComplex;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      if (values + stack.length + node.length > limits.maxValues) return ErrorMessages.payloadTooComplex;
      for (const item of node as unknown[]) stack.push([item, depth + 1]);
      continue;
    }
    // for…in stops early on a huge object (parsed JSON has no inherited enumerable keys).
    for (const key in node) {
      if (FORBIDDEN_KEYS.has(key)) return `property ${key} should not exist`;
      if (values + stack.length >= limits.maxValues) return ErrorMessages.payloadTooComplex;
      stack.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}

/**
 * `metadata`: a plain JSON object (not an array or null) of at most Limits.metadataMaxBytes serialized and
 * Limits.metadataMaxDepth levels of nesting (the object itself is level 1), kept verbatim.
 */
export function IsMetadata(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args) => `${args?.property} ${metadataProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}

function metadataProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  if (Buffer.byteLength(JSON.stringify(value)) > Limits.metadataMaxBytes) {
    return `must be at most ${Limits.metadataMaxBytes} bytes as JSON`;
  }
  // Iterative: the payload shape check bounds size already, this bounds depth.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) {
      if (typeof node === 'string' && (node.includes('\u0000') || !node.isWellFormed())) {
        return 'must hold valid text only (no NUL characters or unpaired surrogates)';
      }
      continue;
    }
    if (depth > Limits.metadataMaxDepth) return `must be at most ${Limits.metadataMaxDepth} levels deep`;
    for (const [key, child] of Object.entries(node)) {
      if (key.includes('\u0000') || !key.isWellFormed()) return 'keys must be valid text';
      stack.push([child, depth + 1]);
    }
  }
  return null;
}
