import type { Message } from '@parley/contracts/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageSequencer } from './sequencer.js';

function msg(seq: number): Message {
  return {
    id: 1000 + seq,
    sender_id: seq % 2 ? 1 : 2,
    conversation_id: 7,
    seq,
    timestamp: new Date(0).toISOString(),
    message_type: 'text',
    content: `m${seq}`,
    client_message_id: null,
    conversation: { id: 7, sender_id: 1, receiver_id: 2 },
    version: seq,
    edited_at: null,
    deleted_at: null,
    reply_to_id: null,
    attachments: [],
    metadata: {},
    reactions: [],
  };
}

describe('MessageSequencer', () => {
  it('delivers every message after the start point exactly once, in seq order, whatever the arrival order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            start: fc.integer({ min: 0, max: n }),
            // every seq at least once (a shuffled full set), plus random repeats (live + catch-up + ack + REST)
            arrivals: fc
              .tuple(
                fc.shuffledSubarray(
                  Array.from({ length: n }, (_, i) => i + 1),
                  { minLength: n, maxLength: n },
                ),
                fc.array(fc.integer({ min: 1, max: Math.max(1, n) }), { maxLength: 40 }),
              )
              .chain(([all, repeats]) =>
                fc.shuffledSubarray([...all, ...(n > 0 ? repeats : [])], {
                  minLength: all.length + (n > 0 ? repeats.length : 0),
                  maxLength: all.length + (n > 0 ? repeats.length : 0),
                }),
              ),
            startAt: fc.nat(),
          }),
        ),
        ({ n, start, arrivals, startAt }) => {
          const s = new MessageSequencer();
          const out: number[] = [];
          const at = startAt % (arrivals.length + 1);
          arrivals.forEach((seq, i) => {
            if (i === at) out.push(...s.start(start).map((m) => m.seq));
            out.push(...s.push(msg(seq)).map((m) => m.seq));
          });
          if (at === arrivals.length) out.push(...s.start(start).map((m) => m.seq));
          expect(out).toEqual(Array.from({ length: n - start }, (_, i) => start + i + 1));
          expect(s.lastSeq).toBe(n);
          expect(s.buffered).toBe(0);
          expect(s.gap()).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds messages back until the gap before them fills, and reports the gap', () => {
    const s = new MessageSequencer();
    expect(s.push(msg(1))).toEqual([]); // not started: waits
    expect(s.start(0).map((m) => m.seq)).toEqual([1]);
    expect(s.push(msg(4))).toEqual([]);
    expect(s.push(msg(3))).toEqual([]);
    expect(s.gap()).toEqual({ from: 2, to: 2 });
    expect(s.push(msg(2)).map((m) => m.seq)).toEqual([2, 3, 4]);
    expect(s.gap()).toBeUndefined();
  });

  it('skips a gap only when told to, delivering what waits after it', () => {
    const s = new MessageSequencer();
    s.start(10);
    s.push(msg(14));
    s.push(msg(15));
    expect(s.gap()).toEqual({ from: 11, to: 13 });
    expect(s.skipGap().map((m) => m.seq)).toEqual([14, 15]);
    expect(s.push(msg(12))).toEqual([]); // too late: never delivered out of order
    expect(s.lastSeq).toBe(15);
  });

  it('never moves its start back', () => {
    const s = new MessageSequencer();
    s.start(5);
    s.push(msg(6));
    expect(s.start(2)).toEqual([]);
    expect(s.lastSeq).toBe(6);
  });
});
