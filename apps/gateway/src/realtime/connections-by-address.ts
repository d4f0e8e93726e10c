import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config.js';

/**
 * Open connections per client address on this instance, Socket.IO's and the plain-WebSocket edges' together:
 * beyond SOCKET_MAX_PER_ADDRESS a handshake is refused.
 */
@Injectable()
export class ConnectionsByAddress {
  private readonly counts = new Map<string, number>();

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {}

  full(address: string): boolean {
    return (this.counts.get(address) ?? 0) >= this.config.socketMaxPerAddress;
  }

  /** Counts a connection of `address` in; the function returned counts it out (call it once, when it closes). */
  opened(address: string): () => void {
    this.counts.set(address, (this.counts.get(address) ?? 0) + 1);
    return () => {
      const left = (this.counts.get(address) ?? 1) - 1;
      if (left > 0) this.counts.set(address, left);
      else this.counts.delete(address);
    };
  }
}
