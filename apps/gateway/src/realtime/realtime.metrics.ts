import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@parley/observability';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Namespace, Socket } from 'socket.io';

/** Prometheus metrics of the Socket.IO side of a gateway. */
@Injectable()
export class RealtimeMetrics {
  readonly connections: Counter<'outcome'>;
  readonly joins: Counter;
  readonly messagesReceived: Counter<'transport'>;
  readonly delivered: Counter<'event'>;
  readonly slowConsumers: Counter;
  readonly lateBroadcasts: Counter;
  readonly coalescedUpdates: Counter;
  private readonly sockets: Gauge;
  private nsp?: Namespace;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const connected = () => this.nsp?.sockets.size ?? 0;
    this.sockets = new Gauge({
      name: 'parley_sockets_connected',
      help: 'Sockets connected to this gateway now',
      registers: [registry],
      collect() {
        this.set(connected());
      },
    });
    this.connections = new Counter({
      name: 'parley_socket_connections_total',
      help: 'Socket.IO handshakes: accepted, or refused as unauthorized or too_many (per-user or per-address cap)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.slowConsumers = new Counter({
      name: 'parley_slow_consumers_dropped_total',
      help: 'Sockets dropped because too many packets waited to be written to them (SOCKET_MAX_BUFFERED_PACKETS)',
      registers: [registry],
    });
    this.coalescedUpdates = new Counter({
      name: 'parley_conversation_updates_coalesced_total',
      help: 'Coalesced conversation-updated rounds of groups over GROUP_FANOUT_MAX members (one per group per interval)',
      registers: [registry],
    });
    this.lateBroadcasts = new Counter({
      name: 'parley_messages_broadcast_late_total',
      help: 'Messages broadcast on a retry, because the request that stored them was never answered or broadcast',
      registers: [registry],
    });
    this.joins = new Counter({
      name: 'parley_joins_total',
      help: 'Successful join-conversation',
      registers: [registry],
    });
    this.messagesReceived = new Counter({
      name: 'parley_messages_received_total',
      help: 'Messages sent by clients through this gateway and stored (repeats of a client_message_id excluded)',
      labelNames: ['transport'],
      registers: [registry],
    });
    this.delivered = new Counter({
      name: 'parley_messages_delivered_total',
      help: "Message events written to this gateway's sockets (receive-message, message-sent)",
      labelNames: ['event'],
      registers: [registry],
    });
  }

  attach(nsp: Namespace): void {
    this.nsp = nsp;
  }

  /** Counts the message events this socket is sent, broadcasts included. */
  watch(socket: Socket): void {
    socket.onAnyOutgoing(this.countOutgoing);
  }

  /** One listener for every socket (not a closure per socket). */
  private readonly countOutgoing = (event: string): void => {
    if (event === 'receive-message' || event === 'message-sent') this.delivered.inc({ event });
  };
}
