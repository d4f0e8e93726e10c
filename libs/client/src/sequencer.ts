import type { Message } from '@parley/contracts/wire';

/** Missing seqs, both ends included. */
export interface SeqGap {
  from: number;
  to: number;
}

/**
 * Puts one conversation's messages in `seq` order, each exactly once, whatever order and however often they
 * arrive (live, in a catch-up, in an ack, over REST). Seqs have no gaps, so a message is delivered once every
 * seq before it has been; until then it waits in the buffer. Pure: the client adds the timers.
 */
export class MessageSequencer {
  private last: number | undefined;
  private readonly buffer = new Map<number, Message>();

  /** The highest seq delivered with nothing missing before it; undefined until `start`. */
  get lastSeq(): number | undefined {
    return this.last;
  }

  get started(): boolean {
    return this.last !== undefined;
  }

  /** How many messages wait for an earlier one. */
  get buffered(): number {
    return this.buffer.size;
  }

  /**
   * Sets where delivery starts (the seq the app already has, 0 for the beginning) and returns what can now be
   * delivered. It never moves back: a start at or below the current point changes nothing.
   */
  start(lastSeq: number): Message[] {
    if (this.last !== undefined && lastSeq <= this.last) return [];
    this.last = lastSeq;
    for (const seq of this.buffer.keys()) if (seq <= lastSeq) this.buffer.delete(seq);
    return this.drain();
  }

  /** Takes one message and returns the messages it makes deliverable, in order (often just itself, or none). */
  push(message: Message): Message[] {
    if (this.last !== undefined && message.seq <= this.last) return []; // delivered already
    if (this.buffer.has(message.seq)) return []; // waiting already
    this.buffer.set(message.seq, message);
    return this.last === undefined ? [] : this.drain();
  }

  /** The seqs missing before the first buffered message, if any message waits. */
  gap(): SeqGap | undefined {
    if (this.last === undefined || this.buffer.size === 0) return undefined;
    return { from: this.last + 1, to: Math.min(...this.buffer.keys()) - 1 };
  }

  /** Gives up on the current gap and returns the buffered messages after it that are now deliverable. */
  skipGap(): Message[] {
    const gap = this.gap();
    if (!gap) return [];
    this.last = gap.to;
    return this.drain();
  }

  private drain(): Message[] {
    const out: Message[] = [];
    for (;;) {
      const next = this.buffer.get(this.last! + 1);
      if (!next) return out;
      this.buffer.delete(next.seq);
      this.last = next.seq;
      out.push(next);
    }
  }
}
