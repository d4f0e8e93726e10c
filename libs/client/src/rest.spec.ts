import { describe, expect, it } from 'vitest';
import { ParleyApiError, ParleyRest } from './rest.js';

// What each call of ParleyRest puts on the wire (method, path, body), against a fetch that records it. The real
// gateway answers them in test/client/groups.e2e-spec.ts.

interface Sent {
  method: string;
  url: string;
  body: unknown;
  auth: string | undefined;
}

function recording(responses: Array<{ status: number; body?: unknown }> = []) {
  const sent: Sent[] = [];
  const fetch = (async (input: string, init: RequestInit) => {
    sent.push({
      method: init.method ?? 'GET',
      url: input,
      body: init.body === undefined ? undefined : JSON.parse(init.body as string),
      auth: (init.headers as Record<string, string>).authorization,
    });
    const next = responses.shift() ?? { status: 200, body: {} };
    return new Response(next.body === undefined ? null : JSON.stringify(next.body), { status: next.status });
  }) as unknown as typeof globalThis.fetch;
  const rest = new ParleyRest({ baseUrl: 'http://gw/', getToken: () => 'tok', fetch });
  return { rest, sent };
}

describe('ParleyRest: groups, members, unread, mutes, blocks', () => {
  it('sends each call as the contract says', async () => {
    const { rest, sent } = recording();
    await rest.createGroup({ title: 'Trip', member_ids: [2, 3], metadata: { topic: 'x' } });
    await rest.updateGroup(7, { title: 'Trip 2' });
    await rest.members(7, { cursor: 'abc', limit: 50 });
    await rest.addMembers(7, [4, 5]);
    await rest.removeMember(7, 4);
    await rest.setRole(7, 5, 'admin');
    await rest.unread();
    await rest.mute(7);
    await rest.mute(7, new Date('2030-01-02T03:04:05.000Z'));
    await rest.mute(7, null);
    await rest.unmute(7);
    await rest.block(9);
    await rest.unblock(9);
    await rest.blocks();
    await rest.findUser('bob smith');
    expect(sent.map(({ method, url, body }) => [method, url.replace('http://gw', ''), body])).toEqual([
      [
        'POST',
        '/api/chats/conversations',
        { type: 'group', title: 'Trip', member_ids: [2, 3], metadata: { topic: 'x' } },
      ],
      ['PATCH', '/api/chats/conversations/7', { title: 'Trip 2' }],
      ['GET', '/api/chats/conversations/7/members?cursor=abc&limit=50', undefined],
      ['POST', '/api/chats/conversations/7/members', { user_ids: [4, 5] }],
      ['DELETE', '/api/chats/conversations/7/members/4', undefined],
      ['PATCH', '/api/chats/conversations/7/members/5', { role: 'admin' }],
      ['GET', '/api/chats/unread', undefined],
      ['PUT', '/api/chats/conversations/7/mute', {}],
      ['PUT', '/api/chats/conversations/7/mute', { until: '2030-01-02T03:04:05.000Z' }],
      ['PUT', '/api/chats/conversations/7/mute', { until: null }],
      ['DELETE', '/api/chats/conversations/7/mute', undefined],
      ['PUT', '/api/users/9/block', undefined],
      ['DELETE', '/api/users/9/block', undefined],
      ['GET', '/api/users/me/blocks', undefined],
      ['GET', '/api/users?username=bob%20smith', undefined],
    ]);
    expect(sent.every((s) => s.auth === 'Bearer tok')).toBe(true);
  });

  it('allMembers() pages to the end; a 204 resolves with nothing; errors carry the status and message', async () => {
    const member = (id: number) => ({ user: { id }, role: 'member', joined_at: '', last_read_seq: id });
    const { rest, sent } = recording([
      { status: 200, body: { members: [member(1), member(2)], next_cursor: 'c1' } },
      { status: 200, body: { members: [member(3)], next_cursor: null } },
      { status: 204 },
      { status: 403, body: { statusCode: 403, message: 'Not allowed', error: 'Forbidden' } },
    ]);
    const all = await rest.allMembers(7, 2);
    expect(all.map((m) => m.user.id)).toEqual([1, 2, 3]);
    expect(sent.map((s) => s.url.replace('http://gw', ''))).toEqual([
      '/api/chats/conversations/7/members?limit=2',
      '/api/chats/conversations/7/members?cursor=c1&limit=2',
    ]);
    await expect(rest.removeMember(7, 3)).resolves.toBeUndefined();
    const error = await rest.setRole(7, 3, 'admin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyApiError);
    expect(error).toMatchObject({ status: 403, message: 'Not allowed' });
  });
});
