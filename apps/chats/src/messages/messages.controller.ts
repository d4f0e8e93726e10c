import { RpcController } from '../common/rpc-controller.decorator.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { MessageChangesService } from './message-changes.service.js';
import { MessagesService } from './messages.service.js';

@RpcController()
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly changes: MessageChangesService,
  ) {}

  @MessagePattern('messages.send')
  send(@Payload() req: RpcRequest<'messages.send'>) {
    return this.messages.send(req);
  }

  @MessagePattern('messages.send-batch')
  sendBatch(@Payload() req: RpcRequest<'messages.send-batch'>) {
    return this.messages.sendBatch(req.requests);
  }

  @MessagePattern('messages.history')
  history(@Payload() req: RpcRequest<'messages.history'>) {
    return this.messages.history(req);
  }

  @MessagePattern('messages.edit')
  edit(@Payload() req: RpcRequest<'messages.edit'>) {
    return this.changes.edit(req);
  }

  @MessagePattern('messages.delete')
  delete(@Payload() req: RpcRequest<'messages.delete'>) {
    return this.changes.delete(req);
  }

  @MessagePattern('messages.react')
  react(@Payload() req: RpcRequest<'messages.react'>) {
    return this.changes.react(req);
  }
}
