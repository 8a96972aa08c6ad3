"""Who is asking: the session cookie (or bearer token) resolved to a :class:`Principal`, and the checks
every route makes — no valid session → 401, valid but not allowed → 403, never data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from pydantic import Field
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from court.access.principals import AccessRole, NotAuthenticated, Principal
from web.context import ServerContext

COOKIE = "court_session"

MAX_ID = 2**63 - 1
"""The largest id the store can hold (a signed 64-bit integer). A larger one names nothing, and the
database driver refuses to even look it up, so every id the API takes is bounded by it."""

HearingId = Annotated[int, Path(ge=1, le=MAX_ID, description="the hearing's id")]
ParticipantId = Annotated[int, Path(ge=1, le=MAX_ID, description="a participant's id")]
EvidenceId = Annotated[int, Path(ge=1, le=MAX_ID, description="an exhibit's id")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id inside a JSON body (a participant's), bounded like the ids in paths."""
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]
"""An event sequence number (0: from the beginning)."""


class ApiError(HTTPException):
    """An error with a machine code beside the message (Chinese, with an English gloss)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=dict(headers) if headers else None)
        self.code = code


def error_body(code: str, message: str) -> bytes:
    """The JSON every refusal answers with, for the middleware that answers before any route runs."""
    return json.dumps({"detail": message, "code": code}, ensure_ascii=False).encode("utf-8")


def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.context
    return ctx


def token_of(request: Request) -> str | None:
    return token_of_headers(request.headers)


def token_of_headers(headers: Headers) -> str | None:
    """The bearer token, else the session cookie (a bearer header wins: it is what scripts send)."""
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return cookie_parser(headers.get("cookie", "")).get(COOKIE)


def cookie_session(headers: Headers) -> bool:
    """Whether the request is authenticated by the cookie (what a browser adds by itself, also to a
    request another site makes it send) rather than by a bearer header."""
    return not headers.get("authorization", "").lower().startswith("bearer ") and bool(
        cookie_parser(headers.get("cookie", "")).get(COOKIE)
    )


def current_principal(request: Request, ctx: Annotated[ServerContext, Depends(context)]) -> Principal:
    # A request with a body was authenticated before it was read (web.limits): not looked up twice.
    early = request.scope.get("state", {}).get("principal")
    if isinstance(early, Principal):
        return early
    token = token_of(request)
    if token is None:
        raise ApiError(401, "no_session", "请先登录或使用邀请链接 (not logged in)")
    try:
        principal = ctx.accounts.authenticate(token)
    except NotAuthenticated as exc:
        raise ApiError(401, exc.reason_code, exc.message) from None
    request.state.principal = principal  # for the audit of this request
    return principal


AnyPrincipal = Annotated[Principal, Depends(current_principal)]


def require_staff(principal: AnyPrincipal) -> Principal:
    if not principal.is_staff:
        raise ApiError(403, "staff_only", "仅限书记员和仲裁员 (clerks and arbitrators only)")
    return principal


def require_clerk(principal: AnyPrincipal) -> Principal:
    if principal.role is not AccessRole.CLERK:
        raise ApiError(403, "clerk_only", "仅限书记员操作 (clerks only)")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
Clerk = Annotated[Principal, Depends(require_clerk)]


def check_hearing(principal: Principal, hearing_id: int) -> None:
    """A party sees only their own hearing; staff and viewers any."""
    if not principal.may_see(hearing_id):
        raise ApiError(403, "other_hearing", "无权访问该庭审 (not your hearing)")


def require_party(principal: Principal, hearing_id: int) -> int:
    """The participant id of a party of this hearing (403 for anybody else)."""
    check_hearing(principal, hearing_id)
    if principal.role is not AccessRole.PARTY or principal.participant_id is None:
        raise ApiError(403, "party_only", "仅限本案当事人 (parties of this hearing only)")
    return principal.participant_id


def signing_device(request: Request) -> str:
    """What a signature records as the device it was made on."""
    return f"web {request.headers.get('user-agent', '')[:200]}"


def forbid_viewer(principal: Principal) -> None:
    if principal.is_viewer:
        raise ApiError(403, "viewer_read_only", "旁听账号只能观看 (viewers can only watch)")
