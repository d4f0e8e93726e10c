/** Versions missing, both ends included. */
export interface VersionGap {
  from: number;
  to: number;
}

/**
 * What a client knows of one conversation's `version` (its change counter: 1, 2, 3… for every new message, edit,
 * deletion and reaction change, without gaps). `version` is the point up to which every change is known: seen as
 * an event, or covered by a catch-up. Versions seen above it wait in a set until the ones before them come.
 *
 * In a joined room every version arrives as an event (receive-message, message-sent or message-updated), so one
 * heard of but not seen (a later version, a `conversation-updated`) is a gap: the client waits a moment for it,
 * then catches up by version. A catch-up never lists every version (a message changed twice shows only its
 * latest), which is why it `complete`s a range rather than `see`ing each version. Pure: the client adds the timers.
 */
export class VersionTracker {
  private known: number | undefined;
  private readonly seen = new Set<number>();
  private highest = 0;

  /** Every change up to this version is known; undefined until a join's answer (or `complete`) said where. */
  get version(): number | undefined {
    return this.known;
  }

  /** The highest version heard of (seen, or told by a join's answer or a `conversation-updated`). */
  get heard(): number {
    return this.highest;
  }

  /** Every change up to `version` is known (a join's answer, a complete catch-up). It never moves back. */
  complete(version: number): void {
    this.highest = Math.max(this.highest, version);
    if (this.known !== undefined && version <= this.known) return;
    this.known = version;
    for (const v of this.seen) if (v <= version) this.seen.delete(v);
    this.advance();
  }

  /** A change seen: a message at its `version`. */
  see(version: number): void {
    this.highest = Math.max(this.highest, version);
    if (this.known !== undefined && version <= this.known) return;
    this.seen.add(version);
    this.advance();
  }

  /** A version heard of without its change (e.g. `conversation-updated`): missing until its change is seen. */
  hear(version: number): void {
    this.highest = Math.max(this.highest, version);
  }

  /** The first versions missing after `version`, if any change was heard of beyond it. */
  gap(): VersionGap | undefined {
    if (this.known === undefined || this.highest <= this.known) return undefined;
    const above = this.seen.size > 0 ? Math.min(...this.seen) : this.highest + 1;
    return { from: this.known + 1, to: above - 1 };
  }

  private advance(): void {
    if (this.known === undefined) return;
    while (this.seen.delete(this.known + 1)) this.known++;
  }
}
