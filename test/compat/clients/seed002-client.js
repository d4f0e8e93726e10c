/* global WebSocket */
// Seed 002's "Example Frontend Implementation", verbatim (../../../../shared/seeds/002_6184f927cf037f53.txt), with
// its base URL (ws://localhost:8000) replaced by the gateway under test's; the test subclasses it for the two
// methods the seed leaves to the application (updateConversationList, addMessageToChat). Only `export` is added.

export let BASE_URL = 'ws://localhost:8000';
export function setBaseUrl(url) {
  BASE_URL = url;
}

export class ChatManager {
    constructor(token) {
        this.token = token;
        this.chatSocket = null;
        this.conversationSocket = null;
    }
    
    connectToConversationList() {
        this.conversationSocket = new WebSocket(
            `${BASE_URL}/ws/conversations/?token=${this.token}`
        );
        
        this.conversationSocket.onmessage = (e) => {
            const data = JSON.parse(e.data);
            this.handleConversationUpdate(data);
        };
    }
    
    connectToChat(conversationId) {
        if (this.chatSocket) {
            this.chatSocket.close();
        }
        
        this.chatSocket = new WebSocket(
            `${BASE_URL}/ws/chat/${conversationId}/?token=${this.token}`
        );
        
        this.chatSocket.onmessage = (e) => {
            const data = JSON.parse(e.data);
            this.handleChatMessage(data);
        };
    }
    
    sendMessage(content) {
        if (this.chatSocket) {
            this.chatSocket.send(JSON.stringify({
                'type': 'chat_message',
                'content': content
            }));
        }
    }
    
    handleConversationUpdate(data) {
        // Update UI with new conversation list
        if (data.type === 'conversations_list') {
            this.updateConversationList(data.conversations);
        }
    }
    
    handleChatMessage(data) {
        // Update UI with new message
        if (data.type === 'chat_message') {
            this.addMessageToChat(data.message);
        }
    }
}
