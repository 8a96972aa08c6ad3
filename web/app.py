"""The web application: the API routers, the pages, and errors turned into clear answers.

Every error answers ``{"detail": message, "code": machine code}``; the message is Simplified
Chinese with an English gloss. Refusals (401/403) are written to the audit log like every access.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from court.core.cases import CaseError
from court.core.claims import ClaimRefused
from court.host.errors import HostError
from web import api_auth, api_evidence, api_hearings, api_media, api_record, api_settlement, pages, public
from web.audit import AuditTrail
from web.context import ServerContext
from web.headers import SameOrigin, SecurityHeaders, content_security_policy, inline_script_hashes
from web.limits import RequestGuard
from web.security import ApiError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

HOST_ERROR_STATUS = {
    "bad_action": 400,
    "bad_camera": 400,
    "bad_mask": 400,
    "bad_side": 400,
    "reason_required": 400,
    "unknown_participant": 404,
}
"""A running hearing's refusals that are the request's fault; the rest (not now, not in this state)
are 409."""

FRAMEWORK_ERRORS = {
    400: ("bad_request", "请求内容无法解析 (malformed request)"),
    404: ("not_found", "没有这个地址 (not found)"),
    405: ("method_not_allowed", "该地址不支持此操作 (method not allowed)"),
}


def create_app(ctx: ServerContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for hub in list(ctx.rtc.values()):
                await hub.close()
            ctx.rtc.clear()
            from web.public import stop_public

            for hearing_id in list(ctx.hls):
                await run_in_threadpool(stop_public, ctx, hearing_id, "服务器停止 (server stopping)")
            await run_in_threadpool(ctx.hosts.shutdown, "服务器停止 (server stopping)")
            if ctx.room is not None:
                await run_in_threadpool(ctx.room.stop)

    app = FastAPI(
        title="数字化仲裁庭 Digital arbitration courtroom",
        version="1.0",
        description="The clerk's console, parties joining by phone or PC, supervisors and the public "
        "watching.",
        lifespan=lifespan,
    )
    app.state.context = ctx
    for router in (
        api_auth.router,
        api_hearings.router,
        api_record.router,
        api_evidence.router,
        api_media.router,
        api_settlement.router,
    ):
        app.include_router(router)
    from web import api_corrections  # Art. 42 requests, line operations, the clerk's 笔录 view

    app.include_router(api_corrections.router)
    from web import api_institute  # the supervisors' view of every room

    app.include_router(api_institute.router)
    app.include_router(public.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Outermost first: the audit sees every answer, the headers go on every answer (refusals too),
    # a cross-site request is refused before its body is read, and a body before the route reads it.
    app.add_middleware(RequestGuard, ctx=ctx)
    app.add_middleware(SameOrigin, public_url=ctx.public_url)
    stream_origins = [origin] if (origin := _origin(ctx.stream_url)) else []
    app.add_middleware(
        SecurityHeaders,
        csp=content_security_policy(inline_script_hashes(STATIC.glob("*.html")), stream_origins),
    )
    app.add_middleware(AuditTrail, ctx=ctx)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(HostError)
    async def host_error(request: Request, exc: HostError) -> JSONResponse:
        status = HOST_ERROR_STATUS.get(exc.code, 409)
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=status)

    @app.exception_handler(ClaimRefused)
    async def claim_refused(request: Request, exc: ClaimRefused) -> JSONResponse:
        # Another room holds the hearing (or took it from this one): say which, never write here.
        return JSONResponse({"detail": exc.message, "code": exc.code, "room": exc.room}, status_code=409)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own refusals (no such route, method not allowed) in the same shape as ours.
        code, message = FRAMEWORK_ERRORS.get(
            exc.status_code, ("http_error", "请求无法处理 (request refused)")
        )
        return JSONResponse(
            {"detail": message, "code": code}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(CaseError)
    async def no_such_record(request: Request, exc: CaseError) -> JSONResponse:
        # A case, hearing or participant the request named that is not there, which a route let
        # through: the request's fault. Logged, so the route that should answer it itself is found.
        log.warning("unhandled CaseError in %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": f"没有所指的案件、庭审或参与人 (no such record): {exc}", "code": "no_such_record"},
            status_code=404,
        )

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # A number too large for the store (an id or count in a body that a route did not bound):
        # the request's fault, not the server's. Logged, so a route that should bound it is found.
        log.warning("number out of range in %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "数值超出范围 (a number is out of range)", "code": "out_of_range"}, status_code=400
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
        )
        return JSONResponse(
            {"detail": f"请求内容有误 (invalid request): {problems}", "code": "invalid_request"},
            status_code=422,
        )

    return app


def _origin(url: str) -> str:
    """``https://live.example:8443`` of an absolute URL; empty for a path on this server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
