import { RpcController } from '../common/rpc-controller.decorator.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { TokensService } from './tokens.service.js';

@RpcController()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @MessagePattern('tokens.issue')
  issue(@Payload() req: RpcRequest<'tokens.issue'>) {
    return this.tokens.issue(req);
  }

  @MessagePattern('tokens.rotate')
  rotate(@Payload() req: RpcRequest<'tokens.rotate'>) {
    return this.tokens.rotate(req);
  }
}
