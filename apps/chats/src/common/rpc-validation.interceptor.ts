import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { ChatsRpcRequests } from '@parley/contracts';
import type { RedisStreamsContext } from '@parley/redis-streams';
import type { Observable } from 'rxjs';
import { Compile, type Validator } from 'typebox/compile';
import { Errors } from './domain.error.js';

/** One compiled check per pattern, built once (TypeBox generates the checking code at startup). */
const validators = new Map<string, Validator>(
  Object.entries(ChatsRpcRequests).map(([pattern, schema]) => [pattern, Compile(schema)]),
);

/**
 * Checks every RPC request against its pattern's schema (libs/contracts ChatsRpcRequests) before the handler
 * runs: the gateway validated the client's input already, so a failure here is a bug or someone writing to the
 * Redis stream directly, and it is refused with 400 instead of reaching SQL.
 */
@Injectable()
export class RpcValidationInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rpc = context.switchToRpc();
    const pattern = patternOf(rpc.getContext());
    const validator = validators.get(pattern);
    const data = rpc.getData<unknown>();
    if (!validator) throw Errors.validation(`unknown pattern ${pattern.slice(0, 64)}`);
    if (!validator.Check(data)) {
      const [first] = validator.Errors(data);
      throw Errors.validation(
        `invalid ${pattern} request: ${first?.instancePath || '/'} ${first?.message ?? ''}`,
      );
    }
    return next.handle();
  }
}

/** RedisStreamsContext names the pattern; NestJS's RedisContext (RPC_TRANSPORT=redis-pubsub) names the channel. */
export function patternOf(context: Partial<RedisStreamsContext> & { getChannel?: () => string }): string {
  return context.getPattern?.() ?? context.getChannel?.() ?? 'unknown';
}
