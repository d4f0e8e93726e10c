import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { buildAsyncApiDocument } from '../../../../libs/contracts/src/asyncapi/asyncapi.js';
import { Public } from '@parley/observability';

/** GET /api/asyncapi.json: the AsyncAPI 3.0 description of the Socket.IO namespace /chat (docs/asyncapi.json). */
@ApiExcludeController()
@Public()
@Controller()
export class AsyncApiController {
  private readonly document = buildAsyncApiDocument();

  @Get('asyncapi.json')
  @Header('Cache-Control', 'no-cache')
  asyncapi(): Record<string, unknown> {
    return this.document;
  }
}
