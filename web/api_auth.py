"""Logging in and out, and a party joining by invitation code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from court.access.principals import NotAuthenticated, Principal, Throttled
from web.context import ServerContext
from web.security import COOKIE, AnyPrincipal, ApiError, context, token_of

router = APIRouter(prefix="/api", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class JoinBody(BaseModel):
    code: str = Field(min_length=4, max_length=40, description="the invitation code sent to the party")


def principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "role": principal.role.value,
        "hearing_id": principal.hearing_id,
        "participant_id": principal.participant_id,
        "expires_at": principal.expires_at.isoformat(),
    }


def _client(request: Request) -> str:
    host = request.client.host if request.client else "?"
    return f"{host} {request.headers.get('user-agent', '')[:200]}"


def _address(request: Request) -> str:
    """The client's network address, what failed sign-ins are counted by (behind a reverse proxy,
    uvicorn gives the forwarded address of a trusted proxy's request)."""
    return request.client.host if request.client else ""


def _throttled(exc: Throttled) -> ApiError:
    return ApiError(429, exc.code, exc.message, headers={"Retry-After": str(exc.seconds)})


def _set_cookie(response: Response, token: str, request: Request) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


@router.post("/login")
async def login(
    body: LoginBody, request: Request, response: Response, ctx: Annotated[ServerContext, Depends(context)]
) -> dict[str, Any]:
    try:
        token, principal = await run_in_threadpool(
            lambda: ctx.accounts.login(
                body.username, body.password, client=_client(request), address=_address(request)
            )
        )
    except NotAuthenticated as exc:
        raise ApiError(401, exc.reason_code, exc.message) from None
    except Throttled as exc:
        raise _throttled(exc) from None
    _set_cookie(response, token, request)
    return {"token": token, **principal_json(principal)}


@router.post("/join")
async def join(
    body: JoinBody, request: Request, response: Response, ctx: Annotated[ServerContext, Depends(context)]
) -> dict[str, Any]:
    try:
        token, principal = await run_in_threadpool(
            lambda: ctx.accounts.redeem(
                body.code, client=_client(request), address=_address(request), current_token=token_of(request)
            )
        )
    except NotAuthenticated as exc:
        raise ApiError(401, exc.reason_code, exc.message) from None
    except Throttled as exc:
        raise _throttled(exc) from None
    _set_cookie(response, token, request)
    return {"token": token, **principal_json(principal)}


@router.post("/logout")
async def logout(
    request: Request, response: Response, ctx: Annotated[ServerContext, Depends(context)]
) -> dict[str, bool]:
    token = token_of(request)
    if token:
        await run_in_threadpool(ctx.accounts.logout, token)
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
async def me(principal: AnyPrincipal) -> dict[str, Any]:
    return principal_json(principal)
