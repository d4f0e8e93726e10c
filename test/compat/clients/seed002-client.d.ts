// Types for seed 002's client code (seed002-client.js), as the tests use it.
export let BASE_URL: string;
export function setBaseUrl(url: string): void;
export class ChatManager {
  constructor(token: string);
  token: string;
  chatSocket: WebSocket | null;
  conversationSocket: WebSocket | null;
  connectToConversationList(): void;
  connectToChat(conversationId: number): void;
  sendMessage(content: string): void;
  handleConversationUpdate(data: unknown): void;
  handleChatMessage(data: unknown): void;
}
type WebSocket = import('ws').WebSocket;
