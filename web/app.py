"""The web application: the API routers, the pages, and errors turned into clear answers.

Every error answers ``{"detail": message, "code": machine code}``; the message is Simplified
Chinese with an English gloss. Refusals (401/403) are written to the audit log like every access.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from court.host.errors import HostError
from web import api_auth, api_evidence, api_hearings, api_media, api_record, api_settlement, pages, public
from web.context import ServerContext
from web.security import ApiError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


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
    app.include_router(public.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def audit_access(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        if request.url.path.startswith("/api/") and request.method != "OPTIONS":
            await run_in_threadpool(_audit, ctx, request, response.status_code)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status_code)

    @app.exception_handler(HostError)
    async def host_error(request: Request, exc: HostError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=409)

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


def _audit(ctx: ServerContext, request: Request, status: int) -> None:
    """Every API access, allowed or not, with who asked (never the token): the principal the route
    authenticated, or nobody when it had none (a refused or public request)."""
    principal = getattr(request.state, "principal", None)
    hearing_id = None
    parts = request.url.path.split("/")
    if status != 404 and len(parts) > 3 and parts[2] == "hearings" and parts[3].isdigit():
        hearing_id = int(parts[3])
    path = request.url.path
    if path.startswith("/api/invitations/"):  # the path holds an invitation code: never in full
        path = "/api/invitations/…" + path.rsplit("/", 1)[-1][-2:]
    try:
        ctx.accounts.audit(
            principal,
            f"{request.method} {path}",
            hearing_id=hearing_id,
            detail={"status": status, "client": request.client.host if request.client else ""},
        )
    except Exception:
        log.exception("audit failed")
