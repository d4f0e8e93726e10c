import type { AuthResult, Conversation, Message } from '@parley/contracts';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, Cluster, connectRecorded, registerUser, request, sleep, waitFor } from '@parley/testing';
import { ChatInterface, type ChatInterfaceState } from './clients/seed001-client.js';
import { browserGlobals, Frames } from './support.js';

// Seed 001's clients (the connection code of its Next.js example, transcribed) on 2 gateways + 2 chats services,
// a student and their mentor, with a Socket.IO client of the mentor's on the other gateway. The bare paths
// (/ws/chat/…) are seed 001's here (COMPAT_BARE_PATHS=001), as the seed's code builds them from window.location.
const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef-0123456789';
let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    gateways: 2,
    chats: 2,
    gatewayEnv: {
      COMPAT_BARE_PATHS: '001',
      ADMIN_TOKEN,
      RATE_LIMIT_MESSAGES_PER_SECOND: '100000',
      RATE_LIMIT_MESSAGES_BURST: '100000',
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  return api(cluster.gatewayUrl(0), method, path, { token, body });
}

/** A browser page of the gateway's origin whose cookie jar holds `cookie`: what the seed's code runs in. */
function page(gateway: number, cookie?: string): void {
  browserGlobals(cluster.gatewayUrl(gateway));
  const origin = cluster.gatewayUrl(gateway);
  class BrowserWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { origin, ...(cookie && { cookie }) } });
    }
  }
  (globalThis as Record<string, unknown>).WebSocket = BrowserWebSocket;
}

/** The cookie `POST /api/v1/chat/session/` sets for `user` (as the browser would store it). */
async function sessionCookie(user: AuthResult, gateway: number): Promise<string> {
  const res = await fetch(`${cluster.gatewayUrl(gateway)}/api/v1/chat/session/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.tokens.access}` },
  });
  expect(res.status).toBe(204);
  const setCookie = res.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/^sessionid=[^;]+;.*HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Lax/i);
  return setCookie.split(';')[0]!;
}

async function connectSeed(wsPath: string, gateway: number, cookie?: string) {
  page(gateway, cookie);
  const state: ChatInterfaceState = {
    socketRef: { current: null },
    isConnected: false,
    messages: [],
    inputValue: '',
  };
  const chat = ChatInterface(wsPath, state);
  const frames: Record<string, unknown>[] = [];
  chat.connectWebSocket();
  state.socketRef.current!.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8'))));
  await waitFor('connection_established', () => state.isConnected);
  const say = (text: string) => {
    state.inputValue = text;
    chat.handleSendMessage();
    expect(state.inputValue).toBe('');
  };
  return { state, frames, say };
}

async function studentAndMentor(): Promise<{ student: AuthResult; mentor: AuthResult }> {
  const [student, mentor] = await Promise.all([
    registerUser(cluster.gatewayUrl(0), 's1s'),
    registerUser(cluster.gatewayUrl(1), 's1m'),
  ]);
  expect((await admin('PUT', `/api/admin/users/${student.user.id}/role`, { role: 'STUDENT' })).status).toBe(
    200,
  );
  expect((await admin('PUT', `/api/admin/users/${mentor.user.id}/role`, { role: 'TEACHER' })).status).toBe(
    200,
  );
  const assigned = await admin('PUT', `/api/admin/users/${student.user.id}/mentor`, {
    mentor_id: mentor.user.id,
  });
  expect(assigned.status).toBe(200);
  expect(assigned.body).toEqual({ student_id: student.user.id, mentor_id: mentor.user.id });
  return { student, mentor };
}

interface NewMessage {
  id: number;
  sender: number;
  sender_profile: { user_id: number; full_name: string; username: string; email: null; role: string };
  content: string;
  timestamp: string;
  is_read: boolean;
  is_own_message: boolean;
}

describe('seed 001: my-conversation and conversations/<id>, with roles and mentors', () => {
  it('a student (by cookie) and their mentor (by token) chat, with a Socket.IO client of the mentor: once, in order', async () => {
    const { student, mentor } = await studentAndMentor();
    const cookie = await sessionCookie(student, 0);
    const s = await connectSeed('/my-conversation/', 0, cookie);
    const established = s.frames.find((f) => f.type === 'connection_established')!;
    const conversationId = established.conversation_id as string;
    expect(established).toEqual({
      type: 'connection_established',
      conversation_id: expect.stringMatching(/^\d+$/),
      room_group_name: `chat_${conversationId}`,
    });
    // The mentor, by ?token= on the other gateway, and a Socket.IO client of theirs.
    page(1);
    const m = await connectSeed(`/conversations/${conversationId}/?token=${mentor.tokens.access}`, 1);
    expect(m.frames[0]).toMatchObject({ type: 'connection_established', conversation_id: conversationId });
    const sio = await connectRecorded(cluster.gatewayUrl(0), { token: mentor.tokens.access });
    const joined = await request<{ success: boolean }>(sio.socket, 'join-conversation', {
      conversationId: Number(conversationId),
      userId: mentor.user.id,
    });
    expect(joined.success).toBe(true);

    const n = 12;
    for (let i = 0; i < n; i++) {
      s.say(`student ${i}`);
      m.say(`mentor ${i}`);
      await sleep(5);
    }
    const newMessages = (frames: Record<string, unknown>[]) =>
      frames.filter((f) => f.type === 'new_message').map((f) => f.message as NewMessage);
    await waitFor(
      'both sides to get every message',
      () => newMessages(s.frames).length >= 2 * n && newMessages(m.frames).length >= 2 * n,
    );
    await waitFor('the Socket.IO client', () => sio.of('receive-message').length >= 2 * n);
    await sleep(200);
    for (const [frames, me] of [
      [s.frames, student],
      [m.frames, mentor],
    ] as const) {
      const got = newMessages(frames);
      expect(got).toHaveLength(2 * n);
      const fromStudent = got.filter((x) => x.sender === student.user.id);
      const fromMentor = got.filter((x) => x.sender === mentor.user.id);
      expect(fromStudent.map((x) => x.content)).toEqual(Array.from({ length: n }, (_, i) => `student ${i}`));
      expect(fromMentor.map((x) => x.content)).toEqual(Array.from({ length: n }, (_, i) => `mentor ${i}`));
      for (const x of got) {
        expect(x.is_own_message).toBe(x.sender === me.user.id);
        expect(x.is_read).toBe(false);
        expect(Date.parse(x.timestamp)).toBeGreaterThan(0);
      }
      expect(fromStudent[0]!.sender_profile).toEqual({
        user_id: student.user.id,
        full_name: student.user.display_name,
        username: student.user.username,
        email: null,
        role: 'STUDENT',
      });
      expect(fromMentor[0]!.sender_profile.role).toBe('TEACHER');
    }
    const sioGot = sio.of<Message>('receive-message');
    expect(sioGot.filter((x) => x.sender_id === student.user.id).map((x) => x.content)).toEqual(
      Array.from({ length: n }, (_, i) => `student ${i}`),
    );
    expect(new Set(sioGot.map((x) => x.id)).size).toBe(2 * n);
    s.state.socketRef.current!.close();
    m.state.socketRef.current!.close();
    sio.socket.close();
  });

  it('marks the conversation read on connect; the empty message gets the seed error; reconnecting finds the same conversation', async () => {
    const { student, mentor } = await studentAndMentor();
    // The mentor writes first, over Parley's REST, before the student ever connects.
    const conversation = (
      await api<Conversation>(cluster.gatewayUrl(1), 'POST', '/api/chats/conversations', {
        token: mentor.tokens.access,
        body: { receiver_id: student.user.id },
      })
    ).body;
    for (const text of ['welcome', 'see you monday']) {
      const sent = await api(
        cluster.gatewayUrl(1),
        'POST',
        `/api/chats/conversations/${conversation.id}/messages`,
        {
          token: mentor.tokens.access,
          body: { message_type: 'text', content: text },
        },
      );
      expect(sent.status).toBe(201);
    }
    const unread = async () =>
      (
        await api<Conversation>(cluster.gatewayUrl(0), 'GET', `/api/chats/conversations/${conversation.id}`, {
          token: student.tokens.access,
        })
      ).body.unread_count;
    expect(await unread()).toBe(2);
    const ws = new Frames(
      `${cluster.gatewayUrl(0).replace(/^http/, 'ws')}/ws/chat/my-conversation/?token=${student.tokens.access}`,
    );
    const [est] = await ws.wait('connection_established', (f) => f.type === 'connection_established');
    expect(est!.conversation_id).toBe(String(conversation.id));
    expect(await unread()).toBe(0);
    ws.send({ message: '   ' });
    ws.send({});
    ws.send({ message: 7 });
    await ws.wait('three errors', (f) => 'error' in f, 3);
    expect(ws.where((f) => 'error' in f).map((f) => f.error)).toEqual([
      'Message content cannot be empty.',
      'Message content cannot be empty.',
      'message must be a string',
    ]);
    expect(ws.closed).toBeUndefined();
    ws.close();
  });

  it('refusals: no mentor (4404), a student on a conversation path (4403), no cookie or a foreign origin (401)', async () => {
    const { student } = await studentAndMentor();
    const loner = await registerUser(cluster.gatewayUrl(0), 's1l');
    const base = cluster.gatewayUrl(1).replace(/^http/, 'ws');
    const none = new Frames(`${base}/ws/chat/my-conversation/?token=${loner.tokens.access}`);
    expect((await none.waitClosed()).code).toBe(4404);
    expect(none.frames).toEqual([{ error: 'No mentor assigned' }]);

    const ws = new Frames(`${base}/ws/chat/my-conversation/?token=${student.tokens.access}`);
    const [est] = await ws.wait('connection_established', (f) => f.type === 'connection_established');
    const asStudent = new Frames(
      `${base}/ws/chat/conversations/${est!.conversation_id as string}/?token=${student.tokens.access}`,
    );
    expect((await asStudent.waitClosed()).code).toBe(4403);
    ws.close();

    const cookie = await sessionCookie(student, 1);
    const anonymous = new WebSocket(`${base}/ws/chat/my-conversation/`, {
      headers: { origin: cluster.gatewayUrl(1) },
    });
    const foreign = new WebSocket(`${base}/ws/chat/my-conversation/`, {
      headers: { origin: 'https://evil.example', cookie },
    });
    for (const socket of [anonymous, foreign]) {
      const status = await new Promise<number>((resolve) => {
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => resolve(101));
        socket.on('error', () => undefined);
      });
      expect(status).toBe(401);
    }
    // The same cookie from the gateway's own origin is accepted.
    const s = await connectSeed('/my-conversation/', 1, cookie);
    expect(s.state.isConnected).toBe(true);
    s.state.socketRef.current!.close();
  });

  it('the admin API: the admin token only, roles checked', async () => {
    const [a, b] = await Promise.all([
      registerUser(cluster.gatewayUrl(0), 's1x'),
      registerUser(cluster.gatewayUrl(0), 's1y'),
    ]);
    expect((await admin('PUT', `/api/admin/users/${a.user.id}/role`, { role: 'TEACHER' }, '')).status).toBe(
      403,
    );
    expect(
      (await admin('PUT', `/api/admin/users/${a.user.id}/role`, { role: 'TEACHER' }, a.tokens.access)).status,
    ).toBe(403);
    expect((await admin('PUT', `/api/admin/users/${a.user.id}/role`, { role: 'PRINCIPAL' })).status).toBe(
      400,
    );
    expect((await admin('PUT', `/api/admin/users/999999999/role`, { role: 'STUDENT' })).status).toBe(404);
    const notTeacher = await admin('PUT', `/api/admin/users/${a.user.id}/mentor`, { mentor_id: b.user.id });
    expect(notTeacher.status).toBe(400);
    expect(notTeacher.body).toMatchObject({ message: 'A mentor must be a TEACHER or TRAINER' });
    expect((await admin('PUT', `/api/admin/users/${b.user.id}/role`, { role: 'TRAINER' })).status).toBe(200);
    expect(
      (await admin('PUT', `/api/admin/users/${a.user.id}/mentor`, { mentor_id: b.user.id })).status,
    ).toBe(200);
    const removed = await admin('DELETE', `/api/admin/users/${a.user.id}/mentor`);
    expect(removed.body).toEqual({ student_id: a.user.id, mentor_id: null });
    const cleared = await admin('PUT', `/api/admin/users/${b.user.id}/role`, { role: null });
    expect(cleared.body).toMatchObject({ id: b.user.id, role: null });
    // The cookie endpoint sets nothing without a valid access token.
    for (const token of ['', `${a.tokens.access}x`]) {
      const res = await api(cluster.gatewayUrl(1), 'POST', '/api/v1/chat/session/', { token });
      expect(res.status).toBe(401);
    }
  });
});
