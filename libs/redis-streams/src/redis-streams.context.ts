import { BaseRpcContext } from '@nestjs/microservices';
import type { PacketMetadata } from '@nestjs/microservices';

type RedisStreamsContextArgs = [
  stream: string,
  entryId: string,
  metadata: PacketMetadata | undefined,
  claimed: boolean,
  pattern: string,
];

/** What a handler can learn about the request it serves (`@Ctx() ctx: RedisStreamsContext`). */
export class RedisStreamsContext extends BaseRpcContext<RedisStreamsContextArgs> {
  getStream(): string {
    return this.args[0];
  }

  /** The stream entry id of the request. */
  getEntryId(): string {
    return this.args[1];
  }

  /** Out-of-band values the client attached (e.g. a trace id). */
  getMetadata(): PacketMetadata | undefined {
    return this.args[2];
  }

  /** True when this consumer claimed the request from a consumer presumed dead: it may have been handled before. */
  isRedelivery(): boolean {
    return this.args[3];
  }

  getPattern(): string {
    return this.args[4];
  }
}
