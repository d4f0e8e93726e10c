/* global window, WebSocket, console, fetch */
// Seed 004's "Vanilla JavaScript Example", verbatim (../../../../shared/seeds/004_ab7e6e5996ffe709.txt): the test
// gives it `window.location` and a WebSocket class, as a browser would. Only `export` is added.

export async function login(email, password) {
  // The seed's "Quick Start", step 1 (the relative URL made absolute on the gateway under test).
  const response = await fetch(`${window.location.protocol}//${window.location.host}/api/auth/login/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password })
  });
  const { tokens } = await response.json();
  return tokens;
}

export async function refreshToken(refresh) {
  // The seed's "Token refresh example", without its localStorage.
  const response = await fetch(`${window.location.protocol}//${window.location.host}/api/auth/token/refresh/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh })
  });
  const data = await response.json();
  return data.access;
}

export class ChatClient {
  constructor(parentId, token, currentUserId) {
    this.parentId = parentId;
    this.token = token;
    this.currentUserId = currentUserId;
    this.messages = [];
    this.ws = null;
    this.isConnected = false;
    this.onMessageCallback = null;
    this.onStatusChangeCallback = null;
  }

  connect() {
    const protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Pass token as query parameter (browsers don't support custom headers)
    const wsUrl = `${protocol}//${window.location.host}/ws/chat/${this.parentId}/?token=${this.token}`;
    
    this.ws = new WebSocket(wsUrl);

    this.ws.onopen = () => {
      console.log('âœ… WebSocket connected');
      this.isConnected = true;
      this.notifyStatusChange();
    };

    this.ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      this.handleMessage(data);
    };

    this.ws.onclose = () => {
      console.log('âŒ WebSocket disconnected');
      this.isConnected = false;
      this.notifyStatusChange();
    };

    this.ws.onerror = (error) => {
      console.error('WebSocket error:', error);
      this.isConnected = false;
      this.notifyStatusChange();
    };
  }

  handleMessage(data) {
    let message;
    
    if (data.content) {
      // Previous message format
      message = {
        id: Date.now() + Math.random(),
        senderId: data.sender_id,
        receiverId: data.reciever_id,
        content: data.content,
        timestamp: data.timestamp,
        isRead: data.is_read,
        isPrevious: true
      };
    } else {
      // New message format
      message = {
        id: Date.now() + Math.random(),
        senderId: data.sender_id,
        content: data.message,
        timestamp: new Date().toISOString(),
        isRead: false,
        isPrevious: false
      };
    }

    this.messages.push(message);
    
    if (this.onMessageCallback) {
      this.onMessageCallback(message);
    }
  }

  sendMessage(content) {
    if (content.trim() && this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({
        message: content.trim()
      }));
      return true;
    }
    return false;
  }

  disconnect() {
    if (this.ws) {
      this.ws.close();
      this.ws = null;
    }
  }

  onMessage(callback) {
    this.onMessageCallback = callback;
  }

  onStatusChange(callback) {
    this.onStatusChangeCallback = callback;
  }

  notifyStatusChange() {
    if (this.onStatusChangeCallback) {
      this.onStatusChangeCallback(this.isConnected);
    }
  }
}
