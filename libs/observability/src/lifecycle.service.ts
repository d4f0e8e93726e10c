import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';

/**
 * Whether the app is shutting down. Readiness turns false first, so a load balancer stops sending new work
 * while the app finishes what it has.
 */
@Injectable()
export class LifecycleService implements BeforeApplicationShutdown {
  private drainingSince: number | null = null;

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  beforeApplicationShutdown(): void {
    this.startDraining();
  }
}

/**
 * SIGTERM/SIGINT: closes the app (its shutdown hooks drain it), then flushes the spans still buffered (`tracing`,
 * when on), and exits 0; exits 1 if that takes longer than `timeoutMs`. Used instead of Nest's
 * `enableShutdownHooks`, which re-raises the signal after closing, so the process would end "killed by SIGTERM"
 * even after a clean drain.
 */
export function closeOnShutdownSignals(
  app: { close(): Promise<void> },
  timeoutMs: number,
  tracing?: { shutdown(): Promise<void> },
): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    setTimeout(() => {
      console.error(`Shutdown after ${signal} took longer than ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    app
      .close()
      .then(async () => {
        // The drain's own spans are exported too; a collector that is down costs the exporter's timeout at most.
        await tracing?.shutdown().catch((err: unknown) => console.error('Could not flush the traces:', err));
      })
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`Shutdown after ${signal} failed:`, err);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
