import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ChatsPattern, RpcRequest, RpcResponse } from '@parley/contracts';
import { currentTraceId, METRICS_REGISTRY, TRACE_KEY } from '@parley/observability';
import { RedisStreamsClient, RpcTimeoutError, RpcUnavailableError } from '@parley/redis-streams';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { firstValueFrom } from 'rxjs';

export const CHATS_TRANSPORT = Symbol('CHATS_TRANSPORT');

/** The gateway's typed door to the chats service: `call('messages.send', {...})` → the typed response. */
@Injectable()
export class ChatsRpcClient implements OnModuleInit, OnApplicationShutdown {
  private readonly latency: Histogram<'pattern'>;
  private readonly failures: Counter<'pattern' | 'kind'>;

  constructor(
    @Inject(CHATS_TRANSPORT) private readonly transport: RedisStreamsClient,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.latency = new Histogram({
      name: 'parley_rpc_request_seconds',
      help: 'Round trip of a gateway → chats RPC, from send to reply',
      labelNames: ['pattern'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'parley_rpc_request_failures_total',
      help: 'Gateway → chats RPCs that failed: timeout (no instance answered), unavailable (Redis down), error',
      labelNames: ['pattern', 'kind'],
      registers: [registry],
    });
    const client = this.transport;
    new Gauge({
      name: 'parley_rpc_waiting',
      help: 'RPC requests of this gateway waiting for a reply',
      registers: [registry],
      collect() {
        this.set(client.stats().waiting);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    // The trace id of the request being served travels in the packet's metadata to the chats service's logs.
    this.transport.setOnDispatchHook((packet) => {
      const traceId = currentTraceId();
      if (traceId) packet.metadata = { ...packet.metadata, [TRACE_KEY]: traceId };
    });
    await this.transport.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }

  /** The connection requests are written on (for health checks). */
  redis(): Redis | undefined {
    try {
      return this.transport.unwrap<{ writer: Redis }>().writer;
    } catch {
      return undefined;
    }
  }

  async call<P extends ChatsPattern>(pattern: P, request: RpcRequest<P>): Promise<RpcResponse<P>> {
    const end = this.latency.startTimer({ pattern });
    try {
      return await firstValueFrom(this.transport.send<RpcResponse<P>, RpcRequest<P>>(pattern, request));
    } catch (err) {
      const kind =
        err instanceof RpcTimeoutError
          ? 'timeout'
          : err instanceof RpcUnavailableError
            ? 'unavailable'
            : 'error';
      this.failures.inc({ pattern, kind });
      throw err;
    } finally {
      end();
    }
  }
}
