import type { INestApplicationContext } from '@nestjs/common';
import { ErrorMessages } from '@parley/contracts';
import express, { type Request, type Response } from 'express';
import { SocketAuth } from '../../realtime/socket-auth.js';
import { SESSION_COOKIE } from '../profiles.js';

/**
 * Seed 001 authenticates its sockets with the web app's session cookie. Parley's stand-in:
 * `POST /api/v1/chat/session/` with `Authorization: Bearer <access token>` sets `sessionid` (HttpOnly,
 * SameSite=Lax, for as long as the token lives) to that token, and the socket then needs nothing else; the app
 * calls it again after each refresh. `DELETE` clears it.
 */
export function seed001Rest(app: INestApplicationContext): express.Router {
  const auth = app.get(SocketAuth);
  const router = express.Router({ strict: true, caseSensitive: true });

  router.post('/api/v1/chat/session/', (req: Request, res: Response) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const claims = token ? auth.verify(token) : undefined;
    if (!token || !claims) return void res.status(401).json({ detail: ErrorMessages.unauthorized });
    const maxAge = Number.isFinite(claims.expiresAt)
      ? Math.max(0, Math.floor((claims.expiresAt - Date.now()) / 1000))
      : undefined;
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      ...(maxAge !== undefined && { maxAge: maxAge * 1000 }),
    });
    res.status(204).end();
  });

  router.delete('/api/v1/chat/session/', (_req: Request, res: Response) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });
  return router;
}
