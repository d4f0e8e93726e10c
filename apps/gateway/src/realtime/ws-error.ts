/** An error a Socket.IO handler answers with: `message` is the contract's exact string. */
export class WsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WsError';
  }
}
