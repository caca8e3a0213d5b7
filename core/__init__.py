"""labpulse core: the domain and its persistence. Imports no transport (HTTP, WebSocket, bot SDK, WebRTC)."""
