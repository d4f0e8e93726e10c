import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { PushService } from './push.service.js';

@RpcController()
export class PushController {
  constructor(private readonly push: PushService) {}

  @MessagePattern('push.subscribe')
  subscribe(@Payload() req: RpcRequest<'push.subscribe'>) {
    return this.push.subscribe(req);
  }

  @MessagePattern('push.unsubscribe')
  unsubscribe(@Payload() req: RpcRequest<'push.unsubscribe'>) {
    return this.push.unsubscribe(req);
  }
}
