import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { SessionsService } from './sessions.service.js';

@RpcController()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @MessagePattern('sessions.rotate')
  rotate(@Payload() req: RpcRequest<'sessions.rotate'>) {
    return this.sessions.rotate(req);
  }

  @MessagePattern('sessions.end')
  end(@Payload() req: RpcRequest<'sessions.end'>) {
    return this.sessions.end(req);
  }

  @MessagePattern('sessions.end-all')
  endAll(@Payload() req: RpcRequest<'sessions.end-all'>) {
    return this.sessions.endAll(req);
  }

  @MessagePattern('sessions.ended-since')
  endedSince(@Payload() req: RpcRequest<'sessions.ended-since'>) {
    return this.sessions.endedSince(req);
  }
}
