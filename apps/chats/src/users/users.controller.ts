import { RpcController } from '../common/rpc-controller.decorator.js';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { RpcRequest } from '@parley/contracts';
import { UsersService } from './users.service.js';

@RpcController()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @MessagePattern('users.register')
  register(@Payload() req: RpcRequest<'users.register'>) {
    return this.users.register(req);
  }

  @MessagePattern('users.login')
  login(@Payload() req: RpcRequest<'users.login'>) {
    return this.users.login(req);
  }

  @MessagePattern('users.find-by-username')
  findByUsername(@Payload() req: RpcRequest<'users.find-by-username'>) {
    return this.users.findByUsername(req);
  }

  @MessagePattern('users.get')
  get(@Payload() req: RpcRequest<'users.get'>) {
    return this.users.get(req);
  }

  @MessagePattern('users.get-many')
  getMany(@Payload() req: RpcRequest<'users.get-many'>) {
    return this.users.getMany(req);
  }

  @MessagePattern('users.contacts')
  contacts(@Payload() req: RpcRequest<'users.contacts'>) {
    return this.users.contacts(req);
  }
}
