"""The web server, its pages and WebRTC (see issue 6)."""
