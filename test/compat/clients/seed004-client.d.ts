// Types for seed 004's client code (seed004-client.js), as the tests use it.
export function login(email: string, password: string): Promise<{ access: string; refresh: string }>;
export function refreshToken(refresh: string): Promise<string>;
export class ChatClient {
  constructor(parentId: number, token: string, currentUserId: number);
  isConnected: boolean;
  messages: unknown[];
  connect(): void;
  sendMessage(content: string): boolean;
  disconnect(): void;
  onMessage(callback: (message: never) => void): void;
  onStatusChange(callback: (isConnected: boolean) => void): void;
}
