"""The error a running hearing answers the web layer with (the API turns it into a 409)."""

from __future__ import annotations


class HostError(Exception):
    """A request the hearing cannot carry out now; ``code`` for the API, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
