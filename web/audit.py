"""The per-request audit: every API request, allowed or not, and every request anywhere that ends in an
error, with who asked (never the token), the status, and the machine code of a refusal.

It is the outermost layer, so it sees what the layers inside answer on their own (a body refused for
its size, a cross-site request) and what no layer answered: an unexpected exception is logged with
its traceback, answered 500 with a message for people, and audited like everything else.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.context import ServerContext
from web.security import MAX_ID, error_body

log = logging.getLogger(__name__)

INTERNAL = "服务器内部错误，已记录，请稍后重试或联系书记员 (internal error; it has been logged)"
_BODY_KEPT = 4096
"""How much of an error's body is read for its machine code (every refusal is a short JSON)."""


class AuditTrail:
    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        error = bytearray()
        audited = False

        async def watch(message: Message) -> None:
            nonlocal status, audited
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if status < 400 and not audited:
                    # A success is recorded when it is answered, not when its body ends: an event
                    # stream may run for hours.
                    audited = True
                    await self._record(scope, status, None)
            elif message["type"] == "http.response.body" and status >= 400 and not audited:
                if len(error) < _BODY_KEPT:
                    error.extend(message.get("body", b"")[: _BODY_KEPT - len(error)])
                if not message.get("more_body", False):
                    audited = True
                    await send(message)
                    await self._record(scope, status, _code(bytes(error)))
                    return
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if status == 0:
                body = error_body("internal_error", INTERNAL)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            if not audited:
                audited = True
                await self._record(scope, 500, "internal_error")

    async def _record(self, scope: Scope, status: int, code: str | None) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        if not ((path.startswith("/api/") and method != "OPTIONS") or status >= 400):
            return
        await run_in_threadpool(_audit, self.ctx, scope, status, code)


def _code(body: bytes) -> str | None:
    try:
        parsed: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return code[:60] if isinstance(code, str) else None


def _audit(ctx: ServerContext, scope: Scope, status: int, code: str | None) -> None:
    """One entry: the principal the route (or the body guard) authenticated, or nobody when it had
    none (a refused or public request)."""
    principal = scope.get("state", {}).get("principal")
    path: str = scope.get("path", "")
    hearing_id = None
    parts = path.split("/")
    if (
        status != 404
        and len(parts) > 3
        and parts[2] == "hearings"
        and parts[3].isascii()
        and parts[3].isdigit()
        and len(parts[3]) <= 19
        and 0 < int(parts[3]) <= MAX_ID
    ):
        hearing_id = int(parts[3])
    if path.startswith("/api/invitations/"):  # the path holds an invitation code: never in full
        path = "/api/invitations/…" + path.rsplit("/", 1)[-1][-2:]
    client = scope.get("client")
    detail: dict[str, Any] = {"status": status, "client": client[0] if client else ""}
    if code is not None:
        detail["error"] = code  # not "code": the audit cuts that key down as a secret
    try:
        ctx.accounts.audit(
            principal, f"{scope.get('method', '')} {path[:300]}", hearing_id=hearing_id, detail=detail
        )
    except Exception:
        log.exception("audit failed")
