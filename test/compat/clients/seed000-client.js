/* global WebSocket, console, fetch */
// Seed 000's "Complete Example: React/JavaScript Implementation", verbatim (../../../../shared/seeds/000_09e587364db79a18.txt),
// with its base URL (https://dolabb-backend.onrender.com, wss://… for the socket) replaced by the gateway under
// test's, and the one documented change: the socket URL carries the REST token as ?token= (the seed shows no
// socket authentication, and Parley serves nothing unauthenticated). Only `export` is added.

export let BASE_URL = 'https://dolabb-backend.onrender.com';
export let WS_BASE_URL = 'wss://dolabb-backend.onrender.com';
export function setBaseUrls(http, ws) {
  BASE_URL = http;
  WS_BASE_URL = ws;
}

export class ChatService {
  constructor(token, currentUserId) {
    this.token = token;
    this.currentUserId = currentUserId;
    this.ws = null;
    this.conversationId = null;
  }

  // Step 1: Initialize or get conversation
  async initializeConversation(receiverId, firstMessage = null) {
    try {
      // Check if conversation exists
      const conversationsResponse = await fetch(
        `${BASE_URL}/api/chat/conversations/`,
        {
          headers: {
            Authorization: `Bearer ${this.token}`,
          },
        }
      );

      const conversationsData = await conversationsResponse.json();
      let conversation = conversationsData.conversations.find(
        conv => conv.otherUser.id === receiverId
      );

      // If no conversation exists, create one by sending first message
      if (!conversation) {
        if (!firstMessage) {
          throw new Error(
            'First message is required to create a new conversation'
          );
        }

        // Send first message via REST API
        await fetch(`${BASE_URL}/api/chat/send/`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${this.token}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({
            receiverId: receiverId,
            text: firstMessage,
            productId: null,
            attachments: [],
            offerId: null,
          }),
        });

        // Get the newly created conversation
        const newConversationsResponse = await fetch(
          `${BASE_URL}/api/chat/conversations/`,
          {
            headers: {
              Authorization: `Bearer ${this.token}`,
            },
          }
        );

        const newConversationsData = await newConversationsResponse.json();
        conversation = newConversationsData.conversations.find(
          conv => conv.otherUser.id === receiverId
        );
      }

      this.conversationId = conversation.conversationId;
      return this.conversationId;
    } catch (error) {
      console.error('Error initializing conversation:', error);
      throw error;
    }
  }

  // Step 2: Connect to WebSocket
  connectWebSocket(onMessage, onError, onClose) {
    if (!this.conversationId) {
      throw new Error(
        'Conversation ID is required. Call initializeConversation() first.'
      );
    }

    this.ws = new WebSocket(
      `${WS_BASE_URL}/ws/chat/${this.conversationId}/?token=${this.token}` // the one-line change: the token
    );

    this.ws.onopen = () => {
      console.log('‚úÖ WebSocket Connected');
    };

    this.ws.onmessage = event => {
      const data = JSON.parse(event.data);
      if (onMessage) onMessage(data);
    };

    this.ws.onerror = error => {
      console.error('WebSocket Error:', error);
      if (onError) onError(error);
    };

    this.ws.onclose = () => {
      console.log('WebSocket Disconnected');
      if (onClose) onClose();
    };
  }

  // Step 3: Send message via WebSocket
  sendMessage(
    text,
    receiverId,
    attachments = [],
    offerId = null,
    productId = null
  ) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      throw new Error('WebSocket is not connected');
    }

    this.ws.send(
      JSON.stringify({
        type: 'chat_message',
        senderId: this.currentUserId,
        receiverId: receiverId,
        text: text,
        attachments: attachments,
        offerId: offerId,
        productId: productId,
      })
    );
  }

  // Disconnect WebSocket
  disconnect() {
    if (this.ws) {
      this.ws.close();
      this.ws = null;
    }
  }
}
