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

  @MessagePattern('conversations.create-group')
  createGroup(@Payload() req: RpcRequest<'conversations.create-group'>) {
    return this.conversations.createGroup(req);
  }

  @MessagePattern('conversations.update')
  update(@Payload() req: RpcRequest<'conversations.update'>) {
    return this.conversations.update(req);
  }

  @MessagePattern('conversations.mute')
  mute(@Payload() req: RpcRequest<'conversations.mute'>) {
    return this.conversations.mute(req);
  }

  @MessagePattern('conversations.unmute')
  unmute(@Payload() req: RpcRequest<'conversations.unmute'>) {
    return this.conversations.unmute(req);
  }

  @MessagePattern('conversations.unread')
  unread(@Payload() req: RpcRequest<'conversations.unread'>) {
    return this.conversations.unread(req);
  }

  @MessagePattern('conversations.member-views')
  memberViews(@Payload() req: RpcRequest<'conversations.member-views'>) {
    return this.conversations.memberViews(req);
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
