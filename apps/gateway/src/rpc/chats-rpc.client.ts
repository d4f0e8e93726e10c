import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ChatsPattern, RpcRequest, RpcResponse } from '@parley/contracts';
import { currentTraceId, METRICS_REGISTRY, TRACE_KEY } from '@parley/observability';
import {
  RedisStreamsClient,
  RpcBusyError,
  RpcTimeoutError,
  RpcUnavailableError,
} from '@parley/redis-streams';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { firstValueFrom, throwError, timeout } from 'rxjs';
import type { ClientRedis } from '@nestjs/microservices';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

export const CHATS_TRANSPORT = Symbol('CHATS_TRANSPORT');

/**
 * The gateway's typed door to the chats service: `call('messages.send', {...})` → the typed response. The transport
 * is the Redis Streams client, or NestJS's built-in Redis client (RPC_TRANSPORT=redis-pubsub, for benchmarks),
 * which has no timeout of its own, so one is applied here.
 */
@Injectable()
export class ChatsRpcClient implements OnModuleInit, OnApplicationShutdown {
  private readonly latency: Histogram<'pattern'>;
  private readonly failures: Counter<'pattern' | 'kind'>;

  constructor(
    @Inject(CHATS_TRANSPORT) private readonly transport: RedisStreamsClient | ClientRedis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
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
      help: 'Gateway → chats RPCs that failed: timeout (no instance answered), unavailable (Redis down), busy (RPC_MAX_IN_FLIGHT reached), error',
      labelNames: ['pattern', 'kind'],
      registers: [registry],
    });
    const client = this.transport;
    new Gauge({
      name: 'parley_rpc_waiting',
      help: 'RPC requests of this gateway waiting for a reply',
      registers: [registry],
      collect() {
        this.set(client instanceof RedisStreamsClient ? client.stats().waiting : 0);
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
      const connections = this.transport.unwrap<{ writer: Redis } | Redis[]>();
      return Array.isArray(connections) ? connections[0] : connections.writer;
    } catch {
      return undefined;
    }
  }

  async call<P extends ChatsPattern>(pattern: P, request: RpcRequest<P>): Promise<RpcResponse<P>> {
    const end = this.latency.startTimer({ pattern });
    try {
      const reply = this.transport.send<RpcResponse<P>, RpcRequest<P>>(pattern, request);
      if (this.transport instanceof RedisStreamsClient) return await firstValueFrom(reply);
      return await firstValueFrom(
        reply.pipe(
          timeout({
            first: this.config.rpcTimeoutMs,
            with: () => throwError(() => new RpcTimeoutError(pattern, this.config.rpcTimeoutMs)),
          }),
        ),
      );
    } catch (err) {
      const kind =
        err instanceof RpcTimeoutError
          ? 'timeout'
          : err instanceof RpcUnavailableError
            ? 'unavailable'
            : err instanceof RpcBusyError
              ? 'busy'
              : 'error';
      this.failures.inc({ pattern, kind });
      throw err;
    } finally {
      end();
    }
  }
}
