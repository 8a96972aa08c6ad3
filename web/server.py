"""Putting the server together from the config: the store, accounts, the hearing hosts, folders; and
what a first run on a fresh store creates (the demo cases, the first accounts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from court.access.accounts import Accounts
from court.access.principals import AccessRole
from court.access.stream_links import read_secret
from court.access.turn_credentials import TurnService
from court.config import Config
from court.db.engine import DATABASE_URL_ENV, open_store
from court.demo.seed import has_hearings, seed_cases
from court.host.registry import HearingHosts
from court.host.rooms import RoomNode
from court.record.bilu import default_key_path
from web.context import ServerContext

FIRST_ACCOUNTS = (
    ("clerk", AccessRole.CLERK, "书记员"),
    ("arbitrator", AccessRole.ARBITRATOR, "仲裁员"),
    ("supervisor", AccessRole.SUPERVISOR, "监督员"),
    ("observer", AccessRole.OBSERVER, "观摩室"),
)


def build_context(
    config: Config,
    *,
    database: str | None = None,
    data: Path = Path("var/web"),
    public_url: str = "",
    room: str | None = None,
) -> ServerContext:
    """``room``: the room this process serves (registered by the caller, :meth:`RoomNode.register`);
    None: no room, nothing claimed (in-process tests)."""
    url = database or os.environ.get(DATABASE_URL_ENV) or config.storage_url
    sessions = open_store(url)
    data = data.resolve()
    node = RoomNode(sessions, room, config.rooms, url=public_url) if room else None
    return ServerContext(
        sessions=sessions,
        config=config,
        accounts=Accounts(sessions),
        hosts=HearingHosts(sessions, config, key_path=default_key_path(url), room=node),
        room=node,
        evidence_root=data / "evidence",
        hls_root=data / "hls",
        public_url=public_url.rstrip("/"),
    )


def _secret(file: Path | None, env: str, what: str) -> str:
    if file is not None:
        return read_secret(file)
    secret = os.environ.get(env, "").strip()
    if len(secret) < 16:
        raise ValueError(f"缺少共享密钥：--{what}-secret-file 或 {env} (a shared secret is needed)")
    return secret


def configure_edge(ctx: ServerContext, args: Any) -> None:
    """The stream server and the TURN server from ``court serve``'s options (web/cli.py)."""
    if args.stream_url:
        if not args.relay_url:
            raise ValueError("--stream-url 需要 --relay-url（流媒体服务器的推流地址） (needs --relay-url)")
        ctx.stream_url = args.stream_url.rstrip("/")
        ctx.stream_secret = _secret(args.stream_secret_file, "COURT_STREAM_SECRET", "stream")
    if args.turn:
        ctx.turn = TurnService(
            tuple(args.turn), _secret(args.turn_secret_file, "COURT_TURN_SECRET", "turn"), args.turn_ttl
        )


def parse_ice_server(text: str) -> dict[str, str]:
    """``stun:host:3478`` or ``turn:user:password@host:3478[?transport=tcp]`` → a WebRTC ICE server."""
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest:
        raise ValueError(
            f"ICE 服务器地址应为 stun:主机:端口 或 turn:用户:密码@主机:端口 (bad ICE server): {text!r}"
        )
    if "@" not in rest:
        return {"urls": text}
    credentials, _, host = rest.rpartition("@")
    username, colon, password = credentials.partition(":")
    if not colon or not username or not host:
        raise ValueError(f"TURN 地址须含用户名和密码 (a TURN server needs user:password@host): {text!r}")
    return {"urls": f"{scheme}:{host}", "username": username, "credential": password}


def warm_models(config: Config) -> None:
    """Load what every hearing's start needs (the discipline's speech, the recognizer, the face
    models) once, in the background, so the clerk's first click does not wait for it."""
    import logging
    import threading

    def warm() -> None:
        try:
            from court.live.announcement import Announcement
            from devices.tts import MandarinSynthesizer

            synthesizer = MandarinSynthesizer(
                cache_dir=config.models.cache_dir / "tts", assets_dir=config.models.tts_assets
            )
            Announcement.from_config(config, synthesizer).warm()
            if config.transcription.enabled:
                from court.live.transcription import build_recognizer, vad_model
                from transcripts.vocabulary import CaseVocabulary

                build_recognizer(config.transcription, config.models.cache_dir, CaseVocabulary())
                vad_model()
            from devices.face import shared_analyzer

            shared_analyzer()
        except Exception:  # the start loads them itself and reports what fails
            logging.getLogger(__name__).exception("warming the models failed")

    threading.Thread(target=warm, name="warm-models", daemon=True).start()


def first_run(ctx: ServerContext, *, seed: bool = True) -> Iterator[str]:
    """Create what a fresh store lacks; yield what to tell the person starting the server."""
    for username, role, name in FIRST_ACCOUNTS:
        password = ctx.accounts.ensure_account(username, role, name)
        if password is not None:
            yield f"新账号 new account: {username} / {password}  ({name})"
    if seed and not has_hearings(ctx.sessions):
        for hearing_id in seed_cases(ctx.sessions, ctx.config, progress=lambda _: None):
            yield f"演示庭审 demo hearing {hearing_id}: 控制台 /console?hearing={hearing_id}"
