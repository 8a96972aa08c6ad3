"""The pages: plain HTML and JavaScript in Simplified Chinese, served from ``web/static``. Each page
asks the API who the visitor is; the API, not the page, decides what they may see.

A page for a hearing that does not exist (``?hearing=abc``, a deleted or mistyped number) is a plain
"no such hearing" page with the list of hearings the visitor may open, never a console whose controls
all fail."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from court.db.models import Hearing

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"


def _page(name: str, status: int = 200) -> FileResponse:
    return FileResponse(
        STATIC / name,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={"cache-control": "no-store"},
    )


def _exists(sessions: sessionmaker[Session], hearing: str | None) -> bool:
    if not hearing or not hearing.isdigit() or len(hearing) > 12:
        return False
    with sessions() as session:
        return session.get(Hearing, int(hearing)) is not None


async def _hearing_page(request: Request, name: str) -> FileResponse:
    """The page of the hearing named by ``?hearing=``; without one, the list to choose from; with one
    that does not exist, the same list under "no such hearing" (404)."""
    hearing = request.query_params.get("hearing")
    if hearing is None:
        return _page("notfound.html")
    sessions = request.app.state.context.sessions
    if not await run_in_threadpool(_exists, sessions, hearing):
        return _page("notfound.html", 404)
    return _page(name)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/login")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(
        STATIC / "favicon.svg", media_type="image/svg+xml", headers={"cache-control": "max-age=86400"}
    )


@router.get("/login")
async def login_page() -> FileResponse:
    return _page("login.html")


@router.get("/console")
async def console_page(request: Request) -> FileResponse:
    return await _hearing_page(request, "console.html")


@router.get("/join")
async def join_page() -> FileResponse:
    return _page("join.html")


@router.get("/institute")
async def institute_page() -> FileResponse:
    return _page("institute.html")


@router.get("/watch")
async def watch_page(request: Request) -> FileResponse:
    return await _hearing_page(request, "watch.html")
