import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { METRICS_REGISTRY } from '@parley/observability';
import { Gauge, type Registry } from 'prom-client';
import { RPC_SERVER, type RpcServerHandle } from './chats.tokens.js';

/** Gauges of the RPC transport: what this instance holds, and the backlog of the whole consumer group. */
@Injectable()
export class RpcTransportMetrics implements OnModuleInit {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(RPC_SERVER) private readonly handle: RpcServerHandle,
  ) {}

  onModuleInit(): void {
    const rpc = this.handle.streams;
    if (!rpc) return; // NestJS's Redis transport (RPC_TRANSPORT=redis-pubsub) has no stream to report on
    const stat = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    stat('parley_rpc_in_flight', 'RPC requests this instance is handling now', () => rpc.stats().inFlight);
    stat(
      'parley_rpc_claimed_total',
      'Requests this instance took over from a consumer presumed dead',
      () => rpc.stats().claimed,
    );
    stat(
      'parley_rpc_expired_total',
      'Requests dropped because their caller had already given up',
      () => rpc.stats().expired,
    );
    stat(
      'parley_rpc_shed_total',
      'Requests answered "Service busy" without any work: they waited too long in the stream (RPC_MAX_QUEUE_MS)',
      () => rpc.stats().shed,
    );
    stat(
      'parley_rpc_handler_timeouts_total',
      "Requests whose handler ran past its deadline (RPC_HANDLER_TIMEOUT_MS or the caller's)",
      () => rpc.stats().handlerTimeouts,
    );
    stat(
      'parley_rpc_dead_lettered_total',
      'Requests moved to the dead-letter stream after RPC_MAX_DELIVERIES deliveries (their consumers died on them)',
      () => rpc.stats().deadLettered,
    );
    new Gauge({
      name: 'parley_rpc_stream_backlog',
      help: 'Requests of the chats consumer group: lag = not yet delivered, pending = delivered but unanswered',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const { lag, pending } = await rpc.backlog();
          this.set({ state: 'lag' }, lag);
          this.set({ state: 'pending' }, pending);
        } catch {
          // Redis unreachable: leave the last values; readiness reports the outage.
        }
      },
    });
  }
}
