import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { BlocksService } from './blocks.service.js';

@RpcController()
export class BlocksController {
  constructor(private readonly blocks: BlocksService) {}

  @MessagePattern('users.block')
  block(@Payload() req: RpcRequest<'users.block'>) {
    return this.blocks.block(req);
  }

  @MessagePattern('users.unblock')
  unblock(@Payload() req: RpcRequest<'users.unblock'>) {
    return this.blocks.unblock(req);
  }

  @MessagePattern('users.blocks')
  list(@Payload() req: RpcRequest<'users.blocks'>) {
    return this.blocks.list(req);
  }
}
