import { BadRequestException } from '@nestjs/common';
import {
  EditMessageDto,
  JoinConversationDto,
  MessageBodyDto,
  ReactDto,
  SendMessageDto,
} from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { StrictValidationPipe } from './validation.pipe.js';

// The message lifecycle's shapes through the one validation pipe: what passes, and class-validator's words for
// what does not.
const pipe = new StrictValidationPipe();
async function problems(metatype: new () => object, value: unknown): Promise<string[]> {
  try {
    await pipe.transform(value, { type: 'body', metatype });
    return [];
  } catch (err) {
    if (!(err instanceof BadRequestException)) throw err;
    const message = (err.getResponse() as { message: string | string[] }).message;
    return Array.isArray(message) ? message : [message];
  }
}

const body = { message_type: 'text', content: 'hi' };
const send = { sender_id: 1, conversation_id: 2, ...body };

describe('message lifecycle payloads', () => {
  it('accept replies, attachments and metadata, and empty content only on a text message with attachments', async () => {
    const attachments = [
      { type: 'image', url: 'https://cdn.example/a.png', width: 10, height: 20, mime_type: 'image/png' },
      { type: 'file', url: 'http://x.example/b', name: 'b', size: 0 },
    ];
    expect(
      await problems(SendMessageDto, { ...send, reply_to_id: 9, attachments, metadata: { a: { b: 1 } } }),
    ).toEqual([]);
    expect(await problems(SendMessageDto, { ...send, content: '', attachments })).toEqual([]);
    expect(await problems(SendMessageDto, { ...send, content: '' })).toEqual(['content should not be empty']);
    expect(await problems(SendMessageDto, { ...send, content: '', attachments: [] })).toEqual([
      'content should not be empty',
    ]);
    expect(
      await problems(SendMessageDto, { ...send, message_type: 'image', content: '', attachments }),
    ).toContain('content should not be empty');
  });

  it('refuse bad attachments, too many, and oversized or deep metadata', async () => {
    const many = Array.from({ length: 11 }, () => ({ type: 'file', url: 'https://x.example/f' }));
    expect(await problems(MessageBodyDto, { ...body, attachments: many })).toEqual([
      'attachments must contain no more than 10 elements',
    ]);
    expect(
      await problems(MessageBodyDto, {
        ...body,
        attachments: [{ type: 'image', url: 'javascript:alert(1)' }],
      }),
    ).toEqual(['attachments.0.url must be an http(s) URL']);
    expect(
      await problems(MessageBodyDto, {
        ...body,
        attachments: [{ type: 'sticker', url: 'https://x.example/f', extra: 1 }],
      }),
    ).toEqual([
      'attachments.0.property extra should not exist',
      'attachments.0.type must be one of the following values: image, video, audio, file',
    ]);
    expect(await problems(MessageBodyDto, { ...body, attachments: 'x' })).toContain(
      'attachments must be an array',
    );
    expect(await problems(MessageBodyDto, { ...body, metadata: { x: 'y'.repeat(3000) } })).toEqual([
      'metadata must be at most 2048 bytes as JSON',
    ]);
    expect(await problems(MessageBodyDto, { ...body, metadata: { a: { b: { c: {} } } } })).toEqual([
      'metadata must be at most 3 levels deep',
    ]);
    expect(await problems(MessageBodyDto, { ...body, reply_to_id: 0 })).toEqual([
      'reply_to_id must be a positive integer no greater than 9007199254740991',
    ]);
  });

  it('check edit, react and join payloads', async () => {
    expect(await problems(EditMessageDto, { conversationId: 1, messageId: 2, content: '' })).toEqual([]);
    expect(
      await problems(EditMessageDto, { conversationId: 1, messageId: 2, content: 'x'.repeat(4001) }),
    ).toEqual(['content must be shorter than or equal to 4000 characters']);
    expect(await problems(ReactDto, { conversationId: 1, messageId: 2, emoji: '👍', add: true })).toEqual([]);
    expect(await problems(ReactDto, { conversationId: 1, messageId: 2, emoji: '', add: 'yes' })).toEqual([
      'emoji must be longer than or equal to 1 characters',
      'add must be a boolean value',
    ]);
    expect(
      await problems(ReactDto, { conversationId: 1, messageId: 2, emoji: 'x'.repeat(33), add: true }),
    ).toEqual(['emoji must be shorter than or equal to 32 characters']);
    expect(await problems(JoinConversationDto, { conversationId: 1, userId: 2, since_version: 3 })).toEqual(
      [],
    );
    expect(await problems(JoinConversationDto, { conversationId: 1, userId: 2, since_version: -1 })).toEqual([
      'since_version must not be less than 0',
    ]);
  });
});
