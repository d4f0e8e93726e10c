import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { MembersService } from './members.service.js';

@RpcController()
export class MembersController {
  constructor(private readonly members: MembersService) {}

  @MessagePattern('members.list')
  list(@Payload() req: RpcRequest<'members.list'>) {
    return this.members.list(req);
  }

  @MessagePattern('members.add')
  add(@Payload() req: RpcRequest<'members.add'>) {
    return this.members.add(req);
  }

  @MessagePattern('members.remove')
  remove(@Payload() req: RpcRequest<'members.remove'>) {
    return this.members.remove(req);
  }

  @MessagePattern('members.set-role')
  setRole(@Payload() req: RpcRequest<'members.set-role'>) {
    return this.members.setRole(req);
  }
}
