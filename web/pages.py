"""The pages: plain HTML and JavaScript in Simplified Chinese, served from ``web/static``. Each page
asks the API who the visitor is; the API, not the page, decides what they may see."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC / name, media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"}
    )


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/login")


@router.get("/login")
async def login_page() -> FileResponse:
    return _page("login.html")


@router.get("/console")
async def console_page() -> FileResponse:
    return _page("console.html")


@router.get("/join")
async def join_page() -> FileResponse:
    return _page("join.html")


@router.get("/watch")
async def watch_page() -> FileResponse:
    return _page("watch.html")
