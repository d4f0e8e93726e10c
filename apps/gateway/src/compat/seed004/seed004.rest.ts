import type { INestApplicationContext } from '@nestjs/common';
import { Limits } from '@parley/contracts';
import express, { type Request, type Response } from 'express';
import { AuthService } from '../../auth/auth.service.js';
import { HttpExceptionFilter } from '../../common/http-exception.filter.js';

/**
 * Seed 004's REST (a Django REST Framework + SimpleJWT backend): `POST /api/auth/login/` by e-mail, answered
 * `{user, tokens: {access, refresh}}`, and `POST /api/auth/token/refresh/` with `{refresh}`, answered
 * `{access, refresh}` (the refresh token is used once, as Parley's own refresh). Errors have DRF's shapes:
 * `{"field": ["This field is required."]}` (400) and `{"detail": …}` (401 with SimpleJWT's messages, 429, 503).
 * Same sessions, throttles and tokens as `/api/auth/*`.
 */
export function seed004Rest(app: INestApplicationContext): express.Router {
  const auth = app.get(AuthService);
  const errors = new HttpExceptionFilter();
  const router = express.Router({ strict: true, caseSensitive: true });

  router.post('/api/auth/login/', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const invalid = fieldErrors(body, { email: Limits.emailMaxLength, password: 1024 });
    if (invalid) return void res.status(400).json(invalid);
    auth.loginByEmail(body.email as string, body.password as string, req.ip ?? 'unknown').then(
      (result) => res.status(200).json(result),
      (err: unknown) => fail(res, errors, err, 'No active account found with the given credentials'),
    );
  });

  router.post('/api/auth/token/refresh/', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const invalid = fieldErrors(body, { refresh: 8192 });
    if (invalid) return void res.status(400).json(invalid);
    auth.refresh(body.refresh as string, req.ip ?? 'unknown').then(
      (tokens) => res.status(200).json({ access: tokens.access, refresh: tokens.refresh }),
      (err: unknown) => fail(res, errors, err, 'Token is invalid or expired', 'token_not_valid'),
    );
  });
  return router;
}

/** DRF's answer to missing or malformed fields, or undefined when each is a string of 1..max characters. */
function fieldErrors(body: Record<string, unknown>, fields: Record<string, number>) {
  const errors: Record<string, string[]> = {};
  for (const [field, max] of Object.entries(fields)) {
    const value = body[field];
    if (value === undefined || value === null) errors[field] = ['This field is required.'];
    else if (typeof value !== 'string') errors[field] = ['Not a valid string.'];
    else if (value.length === 0) errors[field] = ['This field may not be blank.'];
    else if (value.length > max) errors[field] = [`Ensure this field has no more than ${max} characters.`];
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** `{detail}` with the status Parley chose; a 401 with SimpleJWT's own message (and code). */
function fail(res: Response, errors: HttpExceptionFilter, err: unknown, unauthorized: string, code?: string) {
  const { status, body } = errors.toResponse(err);
  const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  if (status === 401)
    return void res.status(401).json(code ? { detail: unauthorized, code } : { detail: unauthorized });
  res.status(status).json({ detail: body.message });
}
