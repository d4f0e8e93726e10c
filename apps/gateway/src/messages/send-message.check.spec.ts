import { BadRequestException } from '@nestjs/common';
import { Limits, messageLimits, SendMessageDto } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { StrictValidationPipe } from '../common/validation.pipe.js';
import { plainTextSend } from './send-message.check.js';

// The fast check of send-message may only ever accept what class-validator (the validation pipe) accepts: it is
// compared with the pipe on hand-picked edge cases and on thousands of random payloads built from them.
const pipe = new StrictValidationPipe();
async function pipeAccepts(value: unknown): Promise<boolean> {
  try {
    await pipe.transform(value, { type: 'body', metatype: SendMessageDto });
    return true;
  } catch (err) {
    if (!(err instanceof BadRequestException)) throw err;
    return false;
  }
}

const valid = { sender_id: 1, conversation_id: 2, message_type: 'text', content: 'hi' };
const max = messageLimits.contentMaxLength;

/** Values a hostile client might put in any field. */
const odd: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  NaN,
  Infinity,
  '1',
  '',
  ' ',
  'text',
  'image',
  'file',
  'x'.repeat(max),
  'x'.repeat(max + 1),
  '😀'.repeat(max / 2),
  '😀'.repeat(max / 2 + 1),
  'a\u0000b',
  '\uD800',
  'c'.repeat(Limits.clientMessageIdMaxLength),
  'c'.repeat(Limits.clientMessageIdMaxLength + 1),
  true,
  [],
  ['x'],
  {},
  { toString: 'x' },
];
const keys = ['sender_id', 'conversation_id', 'message_type', 'content', 'client_message_id'];

function random<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)]!;
}

describe('plainTextSend', () => {
  it('accepts a plain text message, with or without a client_message_id', () => {
    expect(plainTextSend(valid)).toBe(valid);
    expect(plainTextSend({ ...valid, client_message_id: 'k-1' })).toBeDefined();
    expect(plainTextSend({ ...valid, content: 'x'.repeat(max) })).toBeDefined();
  });

  it('leaves everything else to the validation pipe', () => {
    for (const value of [
      null,
      [],
      'x',
      Object.assign(Object.create(null) as object, valid),
      { ...valid, message_type: 'image', content: 'https://x.example/a.png' },
      { ...valid, reply_to_id: 1 },
      { ...valid, attachments: [] },
      { ...valid, metadata: {} },
      { ...valid, extra: 1 },
      JSON.parse('{"sender_id":1,"conversation_id":2,"message_type":"text","content":"hi","__proto__":{}}'),
      { ...valid, client_message_id: null },
      { ...valid, content: 'x'.repeat(max + 1) },
      { ...valid, content: '😀'.repeat(max) }, // class-validator's count: it may accept; the pipe decides
    ])
      expect(plainTextSend(value)).toBeUndefined();
  });

  it('never accepts what the validation pipe refuses (edge cases and 3,000 random payloads)', async () => {
    const cases: unknown[] = [];
    for (const key of keys) for (const value of odd) cases.push({ ...valid, [key]: value });
    for (let i = 0; i < 3000; i++) {
      const payload: Record<string, unknown> = {};
      for (const key of keys) {
        const r = Math.random();
        if (r < 0.1) continue; // missing
        payload[key] = r < 0.7 ? (valid[key as keyof typeof valid] ?? 'k') : random(odd);
      }
      cases.push(payload);
    }
    let accepted = 0;
    for (const value of cases) {
      if (plainTextSend(value) === undefined) continue;
      accepted++;
      expect(await pipeAccepts(value), JSON.stringify(value)).toBe(true);
    }
    // The comparison means something only if the fast check accepted a fair share of them.
    expect(accepted).toBeGreaterThan(50);
  });
});
