"""What a request may be before any route sees it: ids a store can hold, a body of bounded size, and
no body read at all by the API when the request has no session.

FastAPI reads and parses a route's body (a JSON document, a multipart form spooled to a temporary
file) before it runs the route's dependencies, so the session check would come after the bytes are
in. This middleware sits in front of that:

- a body declared larger than its route allows (``Content-Length``) is answered 413 at once, unread;
- a body without a declared length (chunked) is counted as it arrives, and the route's read fails
  with 413 the moment it passes the cap: nothing past the cap is ever buffered;
- a body sent to the API is refused 401 before its first byte is read when the request carries no
  valid session (except the routes that sign in or out, :data:`SESSIONLESS`); the principal found is
  kept for the route, which then does not look it up again.

Every body may be ``JSON_LIMIT``; a route that takes more (an upload) says so with :func:`allow_body`.
Both are decided from the path alone, before routing: a new route that takes a body without a
session, or a large one, is refused until it is named here — a refusal, never an open door.

A path segment of digits beyond the largest id the store holds (2^63 − 1) names nothing: 404 at
once, for every route, also one added without bounding its ids (the database driver would refuse
the lookup with an overflow, a 500).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from court.access.principals import NotAuthenticated
from web.context import ServerContext
from web.security import MAX_ID, ApiError, error_body, token_of_headers

JSON_LIMIT = 2**20
"""Every body not declared otherwise: the largest real one is a drawn signature (tens of KB) or an
SDP offer (the route takes 100,000 characters); a megabyte leaves room and bounds the parse."""
FORM_SLACK = 64 * 1024
"""What a multipart form adds around its files: boundaries, part headers, the short text fields."""

SESSIONLESS = frozenset({"/api/login", "/api/join", "/api/logout"})
"""The API's routes that take a body from somebody not (or no longer) signed in."""

_LIMITS: list[tuple[re.Pattern[str], Callable[[ServerContext], int]]] = []


def allow_body(path: str, limit: Callable[[ServerContext], int]) -> None:
    """Let a route (its full template, ``/api/hearings/{hearing_id}/evidence``) take a body of up to
    ``limit(ctx)`` bytes; read per request, as the server's options and the tests set the upload
    limit on a live context."""
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in _parts(path))
    _LIMITS.append((re.compile(f"^{pattern}$"), limit))


def _parts(path: str) -> list[str]:
    return re.split(r"(\{[^/}]*\})", path)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"请求内容过大，本接口至多接受 {_size(limit)} (request body larger than {limit} bytes)",
    )


def _size(limit: int) -> str:
    return f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{max(1, limit // 1024)} KB"


class RequestGuard:
    """The ASGI middleware (module doc)."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if any(_huge(part) for part in path.split("/")):
            await _refuse(send, ApiError(404, "no_such_id", "没有这个编号 (no such id)"))
            return
        headers = Headers(scope=scope)
        limit = self._limit(path)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = 0
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()) or len(declared) > 18:
                bad = ApiError(400, "bad_length", "Content-Length 无效 (invalid Content-Length)")
                await _refuse(send, bad)
                return
            length = int(declared)
            if length > limit:
                await _refuse(send, too_large(limit))
                return
        if (length > 0 or chunked) and path.startswith("/api/") and path not in SESSIONLESS:
            refusal = await self._authenticate(scope, headers)
            if refusal is not None:
                await _refuse(send, refusal)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's read: FastAPI passes an HTTPException through, and
                    # the error handler answers it like any refusal.
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)

    def _limit(self, path: str) -> int:
        for pattern, limit in _LIMITS:
            if pattern.match(path):
                return limit(self.ctx)
        return JSON_LIMIT

    async def _authenticate(self, scope: Scope, headers: Headers) -> ApiError | None:
        token = token_of_headers(headers)
        if token is None:
            return ApiError(401, "no_session", "请先登录或使用邀请链接 (not logged in)")
        try:
            principal = await run_in_threadpool(self.ctx.accounts.authenticate, token)
        except NotAuthenticated as exc:
            return ApiError(401, exc.reason_code, exc.message)
        scope.setdefault("state", {})["principal"] = principal
        return None


def _huge(part: str) -> bool:
    return part.isascii() and part.isdigit() and (len(part) > 19 or int(part) > MAX_ID)


async def _refuse(send: Send, error: ApiError) -> None:
    body = error_body(error.code, str(error.detail))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The unread body stays on the connection: the server closes it after this answer.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
