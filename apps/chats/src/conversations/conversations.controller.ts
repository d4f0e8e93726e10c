import { RpcController } from '../common/rpc-controller.decorator.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { ConversationsService } from './conversations.service.js';

@RpcController()
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @MessagePattern('conversations.create')
  create(@Payload() req: RpcRequest<'conversations.create'>) {
    return this.conversations.create(req);
  }

  @MessagePattern('conversations.list')
  list(@Payload() req: RpcRequest<'conversations.list'>) {
    return this.conversations.list(req);
  }

  @MessagePattern('conversations.get')
  get(@Payload() req: RpcRequest<'conversations.get'>) {
    return this.conversations.get(req);
  }

  @MessagePattern('conversations.membership')
  membership(@Payload() req: RpcRequest<'conversations.membership'>) {
    return this.conversations.membership(req);
  }

  @MessagePattern('conversations.mark-read')
  markRead(@Payload() req: RpcRequest<'conversations.mark-read'>) {
    return this.conversations.markRead(req);
  }
}
