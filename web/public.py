"""The public livestream: a page and the delayed HLS stream, both existing only while the case is
approved for livestream and the clerk has the public stream on. Otherwise the public gets a plain
"not live" answer that names nothing of the case.

With a stream server (``court serve --stream-url``, nginx from ``deploy/nginx``) the released
stream is pushed there and the app only decides, when a viewer's page asks, whether the hearing may
be watched: it answers with a link signed for a few hours (``court/access/stream_links.py``), and
nginx checks that signature on every playlist and segment by itself. Python then serves no viewer's
media at all, however many watch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response

from court.access.stream_links import signed_playlist_url
from court.host.host import HearingHost, HostStatus
from devices.broadcast.hls import HlsPublisher
from devices.broadcast.relay import HlsPushRelay
from web.context import ServerContext
from web.security import context

router = APIRouter(tags=["public"])

Ctx = Annotated[ServerContext, Depends(context)]
STATIC = Path(__file__).parent / "static"

NOT_LIVE = (
    "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width,initial-scale=1'><title>暂无直播</title></head>"
    "<body><p id='not-live'>该庭审当前没有公开直播。</p></body></html>"
)


def start_public(ctx: ServerContext, host: HearingHost) -> None:
    assembled = host.assembled
    if assembled is None:
        return
    publisher = ctx.hls.get(host.hearing_id)
    if publisher is None:
        feed = assembled.live.feed
        publisher = HlsPublisher(
            lambda: feed.subscribe(max_frames=4),
            host.listen,
            ctx.hls_root / f"hearing-{host.hearing_id}",
            width=feed.width,
            height=feed.height,
            fps=feed.fps,
        )
        ctx.hls[host.hearing_id] = publisher
    if not publisher.running:
        publisher.start()
    if ctx.relay_url and host.hearing_id not in ctx.relays:
        relay = HlsPushRelay(publisher, f"{ctx.relay_url.rstrip('/')}/{stream_name(host.hearing_id)}")
        ctx.relays[host.hearing_id] = relay
        relay.start()


def stop_public(ctx: ServerContext, hearing_id: int, reason: str) -> None:
    """The kill switch: what the public has not yet seen is deleted at once."""
    relay = ctx.relays.pop(hearing_id, None)
    if relay is not None:
        relay.stop()
        relay.withdraw()
    publisher = ctx.hls.pop(hearing_id, None)
    if publisher is not None:
        publisher.kill(reason)


def _live(ctx: ServerContext, hearing_id: int) -> tuple[HearingHost, HlsPublisher] | None:
    host = ctx.hosts.running(hearing_id)
    publisher = ctx.hls.get(hearing_id)
    if host is None or publisher is None:
        return None
    if not (host.hearing.livestream_allowed and host.public_live and host.status is HostStatus.RUNNING):
        return None
    return host, publisher


@router.get("/public/{hearing_id}", response_class=HTMLResponse, include_in_schema=False)
async def public_page(hearing_id: int, ctx: Ctx) -> Response:
    if _live(ctx, hearing_id) is None:
        return HTMLResponse(NOT_LIVE, status_code=404)
    return FileResponse(STATIC / "public.html", media_type="text/html; charset=utf-8")


@router.get("/public/{hearing_id}/info")
async def public_info(hearing_id: int, ctx: Ctx) -> dict[str, Any]:
    live = _live(ctx, hearing_id)
    if live is None:
        return {"live": False}
    host, publisher = live
    info: dict[str, Any] = {
        "live": True,
        "case_number": host.hearing.case_number,
        "cause": host.hearing.cause,
        "ready": publisher.playlist() is not None,
        "delay_seconds": publisher.delay_seconds,
    }
    if ctx.stream_url:
        relay = ctx.relays.get(hearing_id)
        expires = int(time.time()) + ctx.stream_link_seconds
        info["ready"] = relay is not None and relay.published
        name = stream_name(hearing_id)
        info["hls_url"] = signed_playlist_url(ctx.stream_url, ctx.stream_secret, name, expires)
        info["expires"] = expires
    return info


def stream_name(hearing_id: int) -> str:
    """The hearing's folder on the stream server (``<relay_url>/<name>/``)."""
    return f"hearing-{hearing_id}"


@router.get("/public/{hearing_id}/hls/{name}")
async def public_hls(hearing_id: int, name: str, ctx: Ctx) -> Response:
    live = _live(ctx, hearing_id)
    if live is None:
        return Response(
            "该庭审当前没有公开直播 (not live)", status_code=404, media_type="text/plain; charset=utf-8"
        )
    _, publisher = live
    if ctx.stream_url:  # viewers are sent to the stream server; none of them is served from here
        return Response(
            "直播由流媒体服务器提供 (served by the stream server)",
            status_code=404,
            media_type="text/plain; charset=utf-8",
        )
    if name == "index.m3u8":
        playlist = await run_in_threadpool(publisher.playlist)
        if playlist is None:
            return Response(
                "直播即将开始 (starting)", status_code=404, media_type="text/plain; charset=utf-8"
            )
        return Response(
            playlist, media_type="application/vnd.apple.mpegurl", headers={"cache-control": "no-cache"}
        )
    path = publisher.segment_path(name)
    if path is None:
        return Response(
            "没有这个片段 (no such segment)", status_code=404, media_type="text/plain; charset=utf-8"
        )
    return FileResponse(path, media_type="video/mp2t")
