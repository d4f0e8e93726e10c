import type { Message } from '@parley/contracts/wire';
import { describe, expect, it } from 'vitest';
import { MessageStore } from './message-store.js';

function msg(version: number, fields: Partial<Message> = {}): Message {
  return {
    id: 1,
    sender_id: 1,
    conversation_id: 7,
    seq: 1,
    timestamp: new Date(0).toISOString(),
    message_type: 'text',
    content: `v${version}`,
    client_message_id: null,
    conversation: { id: 7, sender_id: 1, receiver_id: 2 },
    version,
    edited_at: null,
    deleted_at: null,
    reply_to_id: null,
    attachments: [],
    metadata: {},
    reactions: [],
    ...fields,
  };
}

const counts = (...emojis: string[]) => emojis.map((emoji) => ({ emoji, count: 1 }));

describe('MessageStore', () => {
  it('keeps the newest version of each message, whatever order they come in', () => {
    const store = new MessageStore(10);
    expect(store.put(msg(2)).newer).toBe(true);
    const stale = store.put(msg(1));
    expect(stale).toMatchObject({ newer: false, message: { version: 2 } });
    expect(store.latest(msg(1)).version).toBe(2);
    expect(store.put(msg(3))).toMatchObject({ newer: true, previous: { version: 2 } });
    expect(store.get(7, 1)?.content).toBe('v3');
  });

  it('your reactions: the newest knowledge of each emoji wins, however it came', () => {
    const store = new MessageStore(10);
    store.put(msg(2, { reactions: counts('👍', '🔥'), my_reactions: ['👍'] }));
    expect(store.myReactions(7, 1)).toEqual(['👍']);
    // Your change on another device (v4) arrives before an older answer about the same emoji (v3): v4 holds.
    store.put(msg(4, { reactions: counts('🔥') }), { emoji: '👍', present: false });
    store.put(msg(3, { reactions: counts('👍', '🔥') }), { emoji: '👍', present: true });
    expect(store.myReactions(7, 1)).toEqual([]);
    const added = store.put(msg(5, { reactions: counts('🔥') }), { emoji: '🔥', present: true });
    expect(added).toMatchObject({ mineChanged: true, myReactions: ['🔥'] });
    // A page at an older version does not undo it; one at a newer version is the whole truth.
    store.put(msg(4, { reactions: counts('🔥'), my_reactions: [] }));
    expect(store.myReactions(7, 1)).toEqual(['🔥']);
    store.put(msg(6, { reactions: counts('🔥', '😂'), my_reactions: ['😂'] }));
    expect(store.myReactions(7, 1)).toEqual(['😂']);
    // An emoji nobody has any more is not yours either; a tombstone has none.
    store.put(msg(7, { reactions: counts('🔥') }));
    expect(store.myReactions(7, 1)).toEqual([]);
    store.put(msg(8, { reactions: counts('🔥', '😂') }), { emoji: '😂', present: true });
    expect(store.put(msg(9, { deleted_at: new Date(0).toISOString() })).myReactions).toEqual([]);
  });

  it('keeps at most `limit` messages per conversation (the first stored go first), and forgets a conversation', () => {
    const store = new MessageStore(2);
    for (const id of [1, 2, 3]) store.put(msg(id, { id }));
    expect([1, 2, 3].map((id) => store.get(7, id)?.id)).toEqual([undefined, 2, 3]);
    store.forget(7);
    expect(store.get(7, 3)).toBeUndefined();
  });
});
