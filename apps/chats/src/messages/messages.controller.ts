import { RpcController } from '../common/rpc-controller.decorator.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { MessagesService } from './messages.service.js';

@RpcController()
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @MessagePattern('messages.send')
  send(@Payload() req: RpcRequest<'messages.send'>) {
    return this.messages.send(req);
  }

  @MessagePattern('messages.history')
  history(@Payload() req: RpcRequest<'messages.history'>) {
    return this.messages.history(req);
  }
}
