import { Inject, Injectable, Logger } from '@nestjs/common';
import { SEND_BATCH_MAX, type RpcRequest, type SendMessageResult } from '@parley/contracts';
import { METRICS_REGISTRY } from '@parley/observability';
import { context, type Context } from '@opentelemetry/api';
import { onBehalfOf } from '@parley/redis-streams';
import { Histogram, type Registry } from 'prom-client';
import { ChatsRpcClient } from './chats-rpc.client.js';

type SendRequest = RpcRequest<'messages.send'>;

interface Queued {
  request: SendRequest;
  resolve: (result: SendMessageResult) => void;
  reject: (err: unknown) => void;
  /** The sender's trace context (ROOT_CONTEXT, the same object every time, with tracing off). */
  context: Context;
}

/**
 * The gateway's sends to the chats service, coalesced per event-loop turn: the sends of every socket read in one
 * turn leave in one `messages.send-batch` request (one stream entry, one read by one chats instance, which stores
 * them in one transaction and answers in one reply entry), instead of a request, a read, a reply and an
 * acknowledgement each. A send alone in its turn goes as a plain `messages.send`, so nothing waits for company.
 *
 * Each send still gets its own result or its own error; a failure of the request itself (timeout, Redis down)
 * fails every send it carried, as it would have failed each of them alone. A chats instance of the previous
 * release, which has no batch handler, is answered by sending that batch's sends one by one. Each send keeps its
 * sender's trace context: a batch is traced in the first sender's trace, with a span in every other sender's.
 */
@Injectable()
export class SendBatcher {
  private readonly logger = new Logger('SendBatcher');
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly sizes: Histogram;

  constructor(
    private readonly rpc: ChatsRpcClient,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.sizes = new Histogram({
      name: 'parley_rpc_send_batch_size',
      help: 'Sends per request to the chats service (messages.send is 1, messages.send-batch more)',
      buckets: [1, 2, 4, 8, 16, 32, SEND_BATCH_MAX],
      registers: [registry],
    });
  }

  send(request: SendRequest): Promise<SendMessageResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject, context: context.active() });
      if (this.scheduled) return;
      this.scheduled = true;
      // The check phase: after every socket event read in this turn's poll phase has been handled.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    for (let i = 0; i < queued.length; i += SEND_BATCH_MAX) {
      const batch = queued.slice(i, i + SEND_BATCH_MAX);
      this.sizes.observe(batch.length);
      if (batch.length === 1) this.sendOne(batch[0]!);
      else void this.sendBatch(batch);
    }
  }

  private sendOne({ request, resolve, reject, context: sender }: Queued): void {
    context.with(sender, () => this.rpc.call('messages.send', request)).then(resolve, reject);
  }

  private async sendBatch(batch: Queued[]): Promise<void> {
    let results;
    try {
      // Traced as the first sender's request, linked to a span in each other sender's trace (docs/integrations.md, "Tracing").
      ({ results } = await onBehalfOf(
        batch.map((q) => q.context),
        () => this.rpc.call('messages.send-batch', { requests: batch.map((q) => q.request) }),
      ));
    } catch (err) {
      if (isMissingHandler(err)) {
        this.logger.debug('chats instance without messages.send-batch: sending one by one');
        for (const queued of batch) this.sendOne(queued);
        return;
      }
      for (const queued of batch) queued.reject(err);
      return;
    }
    batch.forEach((queued, i) => {
      const outcome = results[i];
      if (!outcome)
        queued.reject(new Error(`messages.send-batch answered ${results.length} of ${batch.length}`));
      else if ('ok' in outcome) queued.resolve(outcome.ok);
      else queued.reject(outcome.error);
    });
  }
}

/** The transport's answer when no chats instance knows the pattern (an instance of the previous release). */
function isMissingHandler(err: unknown): boolean {
  const text = typeof err === 'string' ? err : ((err as { message?: unknown })?.message ?? '');
  return typeof text === 'string' && text.startsWith('No handler for pattern');
}
