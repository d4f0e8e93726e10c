import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { RpcController } from '../common/rpc-controller.decorator.js';
import { MentorsService } from './mentors.service.js';

@RpcController()
export class MentorsController {
  constructor(private readonly mentors: MentorsService) {}

  @MessagePattern('users.set-role')
  setRole(@Payload() req: RpcRequest<'users.set-role'>) {
    return this.mentors.setRole(req);
  }

  @MessagePattern('mentors.assign')
  assign(@Payload() req: RpcRequest<'mentors.assign'>) {
    return this.mentors.assign(req);
  }

  @MessagePattern('mentors.of')
  mentorOf(@Payload() req: RpcRequest<'mentors.of'>) {
    return this.mentors.mentorOf(req);
  }
}
