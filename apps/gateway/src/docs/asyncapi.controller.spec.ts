import 'reflect-metadata';
import { Controller, Get, UnauthorizedException, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAsyncApiDocument } from '../../../../libs/contracts/src/asyncapi/asyncapi.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { SessionRevocations } from '../auth/session-revocations.service.js';
import { TokenService } from '../auth/token.service.js';
import { HttpExceptionFilter } from '../common/http-exception.filter.js';
import { AsyncApiController } from './asyncapi.controller.js';

// The controller behind the gateway's real guard and filter: public, while a route without @Public() next to it
// is not.

@Controller('private')
class PrivateController {
  @Get()
  get() {
    return { ok: true };
  }
}

let app: INestApplication;
let url: string;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({
    controllers: [AsyncApiController, PrivateController],
    providers: [
      { provide: APP_GUARD, useClass: JwtAuthGuard },
      {
        provide: TokenService,
        useValue: {
          verifyAccess: () => {
            throw new UnauthorizedException('Unauthorized');
          },
        },
      },
      { provide: SessionRevocations, useValue: { isEnded: () => false } },
    ],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  app.setGlobalPrefix('api');
  app.useGlobalFilters(new HttpExceptionFilter());
  await app.listen(0, '127.0.0.1');
  url = await app.getUrl();
});
afterAll(async () => {
  await app?.close();
});

describe('AsyncApiController', () => {
  it('serves the AsyncAPI document at /api/asyncapi.json without a token', async () => {
    const res = await fetch(`${url}/api/asyncapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(buildAsyncApiDocument());
  });

  it('sits behind the real guard (a route without @Public() is refused)', async () => {
    expect((await fetch(`${url}/api/private`)).status).toBe(401);
  });
});
