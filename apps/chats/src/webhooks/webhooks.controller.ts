import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { WebhooksService } from './webhooks.service.js';

/** The admin API's webhook endpoints (the gateway has checked the admin token). */
@RpcController()
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @MessagePattern('webhooks.create')
  create(@Payload() req: RpcRequest<'webhooks.create'>) {
    return this.webhooks.create(req);
  }

  @MessagePattern('webhooks.list')
  list() {
    return this.webhooks.list();
  }

  @MessagePattern('webhooks.get')
  get(@Payload() req: RpcRequest<'webhooks.get'>) {
    return this.webhooks.get(req.id);
  }

  @MessagePattern('webhooks.update')
  update(@Payload() req: RpcRequest<'webhooks.update'>) {
    return this.webhooks.update(req);
  }

  @MessagePattern('webhooks.delete')
  delete(@Payload() req: RpcRequest<'webhooks.delete'>) {
    return this.webhooks.delete(req.id);
  }

  @MessagePattern('webhooks.rotate-secret')
  rotateSecret(@Payload() req: RpcRequest<'webhooks.rotate-secret'>) {
    return this.webhooks.rotateSecret(req.id);
  }

  @MessagePattern('webhooks.dead-letters')
  deadLetters(@Payload() req: RpcRequest<'webhooks.dead-letters'>) {
    return this.webhooks.deadLetters(req);
  }

  @MessagePattern('webhooks.replay')
  replay(@Payload() req: RpcRequest<'webhooks.replay'>) {
    return this.webhooks.replay(req.id);
  }
}
