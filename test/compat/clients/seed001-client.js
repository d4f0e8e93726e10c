/* global window, WebSocket, console */
// Seed 001's Next.js example (../../../../shared/seeds/001_bb9a2c9fef25d324.txt): the body of its `connectWebSocket`
// and `handleSendMessage`, verbatim, outside React: `useState`'s setters and `useRef` become the `state` object the
// test passes in. The page's cookie travels with the WebSocket as a browser's would (the test's WebSocket class).

export function ChatInterface(wsPath, state) {
  const socketRef = state.socketRef;
  const setIsConnected = (value) => (state.isConnected = value);
  const setMessages = (update) => (state.messages = update(state.messages));
  const setInputValue = (value) => (state.inputValue = value);

  const connectWebSocket = () => {
    // Construct the full WebSocket URL
    const protocol = window.location.protocol === 'https лидер:' ? 'wss:' : 'ws:';
    const host = window.location.host; // Or your specific API host
    const fullWsUrl = `${protocol}//${host}/ws/chat${wsPath}`; // wsPath is e.g., "/my-conversation/"

    console.log('Attempting to connect to:', fullWsUrl);
    socketRef.current = new WebSocket(fullWsUrl);

    socketRef.current.onopen = () => {
      console.log('WebSocket connection opened');
      // setIsConnected(true); // Wait for 'connection_established' message
    };

    socketRef.current.onmessage = (event) => {
      const data = JSON.parse(event.data);
      console.log('Received message:', data);

      if (data.type === 'connection_established') {
        setIsConnected(true);
        console.log('Connection established for conversation:', data.conversation_id);
        // You might want to fetch historical messages via REST API here if not already loaded
      } else if (data.type === 'new_message') {
        setMessages((prevMessages) => [...prevMessages, data.message]);
        // If !data.message.is_own_message, you might want to trigger a "mark as read"
        // action via REST API or a WebSocket message if implemented.
      } else if (data.error) {
        console.error('WebSocket server error:', data.error);
        // Handle error display
      }
    };

    socketRef.current.onclose = (event) => {
      console.log('WebSocket connection closed:', event.code, event.reason);
      setIsConnected(false);
      // Implement reconnection logic if desired
    };

    socketRef.current.onerror = (error) => {
      console.error('WebSocket error:', error);
      setIsConnected(false);
      // Handle error display or reconnection
    };
  };

  const handleSendMessage = () => {
    const inputValue = state.inputValue; // (React's state value, as the component would render it)
    if (socketRef.current && socketRef.current.readyState === WebSocket.OPEN && inputValue.trim()) {
      socketRef.current.send(JSON.stringify({ message: inputValue }));
      setInputValue('');
    }
  };

  return { connectWebSocket, handleSendMessage };
}
