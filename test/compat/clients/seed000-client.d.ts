// Types for seed 000's client code (seed000-client.js), as the tests use it.
export function setBaseUrls(http: string, ws: string): void;
export class ChatService {
  constructor(token: string, currentUserId: string);
  conversationId: string | null;
  ws: import('ws').WebSocket | null;
  initializeConversation(receiverId: string, firstMessage?: string | null): Promise<string>;
  connectWebSocket(
    onMessage?: (data: never) => void,
    onError?: (error: unknown) => void,
    onClose?: () => void,
  ): void;
  sendMessage(
    text: string,
    receiverId: string,
    attachments?: string[],
    offerId?: string | null,
    productId?: string | null,
  ): void;
  disconnect(): void;
}
