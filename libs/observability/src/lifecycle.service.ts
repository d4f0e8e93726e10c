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

/** After SIGTERM or SIGINT, exits anyway once `timeoutMs` has passed (a drain must not hang a deploy). */
export function exitIfShutdownHangs(timeoutMs: number): void {
  const arm = (signal: string) => {
    setTimeout(() => {
      console.error(`Shutdown after ${signal} took longer than ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs).unref();
  };
  process.once('SIGTERM', () => arm('SIGTERM'));
  process.once('SIGINT', () => arm('SIGINT'));
}
