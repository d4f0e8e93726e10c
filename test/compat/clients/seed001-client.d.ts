// Types for seed 001's client code (seed001-client.js), as the tests use it.
export interface ChatInterfaceState {
  socketRef: { current: import('ws').WebSocket | null };
  isConnected: boolean;
  messages: never[];
  inputValue: string;
}
export function ChatInterface(
  wsPath: string,
  state: ChatInterfaceState,
): { connectWebSocket(): void; handleSendMessage(): void };
