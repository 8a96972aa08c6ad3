"""The live hearing: the session and its one-click start, the room, recording, recognition, the
director, and the host that runs a hearing inside the server."""
