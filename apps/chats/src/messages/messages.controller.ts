import { RpcController } from '../common/rpc-controller.decorator.js';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import type { RedisStreamsContext } from '@parley/redis-streams';
import type { RpcRequest } from '@parley/contracts';
import { MessagesService } from './messages.service.js';

@RpcController()
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @MessagePattern('messages.send')
  async send(@Payload() req: RpcRequest<'messages.send'>, @Ctx() ctx: Partial<RedisStreamsContext>) {
    const result = await this.messages.send(req);
    // A redelivered request whose message is already there: its first consumer stored it and died unanswered.
    return !result.created && ctx.isRedelivery?.() === true ? { ...result, recovered: true } : result;
  }

  @MessagePattern('messages.history')
  history(@Payload() req: RpcRequest<'messages.history'>) {
    return this.messages.history(req);
  }
}
