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
