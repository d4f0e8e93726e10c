import type { INestApplicationContext } from '@nestjs/common';
import { ErrorMessages, Limits } from '@parley/contracts';
import express, { type Request, type Response } from 'express';
import { HttpExceptionFilter } from '../../common/http-exception.filter.js';
import { ConversationsService } from '../../conversations/conversations.service.js';
import { MessagesService } from '../../messages/messages.service.js';
import { SocketAuth } from '../../realtime/socket-auth.js';
import { UsersService } from '../../users/users.service.js';
import { validMessageBody } from '../channel.js';
import { parseSeedId, seed000Body, seed000Conversation, seed000Message } from './seed000.render.js';

/**
 * Seed 000's REST: `GET /api/chat/conversations/` (the caller's 100 most recent conversations, with the other
 * user) and `POST /api/chat/send/` (a message to `receiverId`, creating the direct conversation on the first one).
 * `Authorization: Bearer` with a Parley access token. Answers `{success: true, …}`, errors
 * `{success: false, error}` with Parley's status and message.
 */
export function seed000Rest(app: INestApplicationContext): express.Router {
  const auth = app.get(SocketAuth);
  const conversations = app.get(ConversationsService);
  const messages = app.get(MessagesService);
  const users = app.get(UsersService);
  const errors = new HttpExceptionFilter();
  const router = express.Router({ strict: true, caseSensitive: true });

  /** The caller's id, or undefined (and a 401 sent). */
  const caller = (req: Request, res: Response): number | undefined => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const claims = token ? auth.verify(token) : undefined;
    if (!claims) res.status(401).json({ success: false, error: ErrorMessages.unauthorized });
    return claims?.userId;
  };
  const fail = (res: Response) => (err: unknown) => {
    const { status, body } = errors.toResponse(err);
    const message = Array.isArray(body.message) ? body.message.join(', ') : String(body.message);
    res.status(status).json({ success: false, error: message });
  };

  router.get('/api/chat/conversations/', (req: Request, res: Response) => {
    const me = caller(req, res);
    if (me === undefined) return;
    (async () => {
      const page = await conversations.list(me, null, Limits.pageSizeMax);
      const others = page.conversations
        .map((c) => (c.sender_id === me ? c.receiver_id : c.sender_id))
        .filter((id): id is number => id !== null);
      const profiles = new Map((await users.getMany(me, others)).map((u) => [u.id, u]));
      res.json({
        success: true,
        conversations: page.conversations.map((c) => {
          const other = c.sender_id === me ? c.receiver_id : c.sender_id;
          return seed000Conversation(c, me, other === null ? undefined : profiles.get(other));
        }),
      });
    })().catch(fail(res));
  });

  router.post('/api/chat/send/', (req: Request, res: Response) => {
    const me = caller(req, res);
    if (me === undefined) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const receiverId = parseSeedId(body.receiverId);
    if (receiverId === undefined)
      return void res.status(400).json({ success: false, error: 'receiverId is required' });
    const mapped = seed000Body(body);
    if ('error' in mapped) return void res.status(400).json({ success: false, error: mapped.error });
    (async () => {
      const dto = await validMessageBody(mapped.body);
      const { conversation } = await conversations.createDirect(me, receiverId);
      const { message } = await messages.send(me, conversation.id, dto);
      const shown = seed000Message(message, me);
      res.status(201).json({
        success: true,
        message: {
          id: shown.id,
          text: shown.text,
          timestamp: shown.timestamp,
          conversationId: String(conversation.id),
        },
      });
    })().catch(fail(res));
  });
  return router;
}
