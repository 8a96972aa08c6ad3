"""``court serve``: the web server on the embedded default (SQLite, the simulated courtroom), with
the address and the clerk's first login printed. Registered through the ``court.commands`` entry
point, so the ``court`` command itself does not depend on the web side."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from court.config import load_config


def register(commands: argparse._SubParsersAction[Any]) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the clerk's console, the parties' and viewers' pages and the API",
        description="Start the web server. On a fresh store it creates the demo cases and the first "
        "accounts and prints the clerk's login.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--database", help="store URL (default: [storage] url, or COURT_DATABASE_URL)")
    serve.add_argument("--data", type=Path, default=Path("var/web"), help="evidence and stream folder")
    serve.add_argument("--public-url", default="", help="the address parties open (for invitation links)")
    serve.add_argument(
        "--ssl-certfile",
        type=Path,
        help="TLS certificate (PEM): phones' browsers open the camera only on https (or localhost)",
    )
    serve.add_argument("--ssl-keyfile", type=Path, help="the certificate's private key (PEM)")
    serve.add_argument(
        "--ice-server",
        action="append",
        default=[],
        metavar="URL",
        help="a STUN/TURN server for parties outside the court's network, e.g. "
        "turn:user:password@turn.example.org:3478 (repeatable)",
    )
    serve.add_argument(
        "--relay-url",
        default="",
        help="also push the public stream (HLS, after its delay) by HTTP PUT to this media server base URL",
    )
    serve.add_argument(
        "--stream-url",
        default="",
        help="the stream server's public base (nginx, deploy/nginx): viewers fetch the public stream "
        "there with links the server signs; needs --relay-url (its ingest) and --stream-secret-file",
    )
    serve.add_argument(
        "--stream-secret-file",
        type=Path,
        help="the secret shared with the stream server's secure_link (or COURT_STREAM_SECRET)",
    )
    serve.add_argument(
        "--turn",
        action="append",
        default=[],
        metavar="URL",
        help="the court's TURN server, e.g. turn:turn.example.org:3478 (repeatable): each party gets "
        "time-limited credentials; needs --turn-secret-file",
    )
    serve.add_argument(
        "--turn-secret-file",
        type=Path,
        help="the secret shared with the TURN server (coturn static-auth-secret; or COURT_TURN_SECRET)",
    )
    serve.add_argument(
        "--turn-ttl", type=int, default=24 * 3600, help="seconds a TURN credential lasts (default 86400)"
    )
    serve.add_argument(
        "--room",
        default="",
        help="the courtroom this server is (default: [room] name of the config): rooms on one database "
        "each run their own hearings; a hearing another room runs is refused here (409)",
    )
    serve.add_argument("--no-seed", action="store_true", help="do not create the demo cases on a fresh store")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app
    from web.server import build_context, configure_edge, first_run, parse_ice_server, warm_models

    config = load_config(args.config)
    room = args.room.strip() or config.room.name
    ctx = build_context(config, database=args.database, data=args.data, public_url=args.public_url, room=room)
    ctx.relay_url = args.relay_url
    try:
        ctx.ice_servers = [parse_ice_server(url) for url in args.ice_server]
        configure_edge(ctx, args)
    except (ValueError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    for line in first_run(ctx, seed=not args.no_seed):
        print(line)
    warm_models(config)
    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        print("--ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    scheme = "https" if args.ssl_certfile else "http"
    address = ctx.public_url or f"{scheme}://{args.host}:{args.port}"
    if ctx.room is not None:
        from court.host.rooms import RoomBusy

        host = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host
        ctx.room.url = ctx.public_url or f"{scheme}://{host}:{args.port}"
        try:
            ctx.room.register()
        except RoomBusy as exc:
            print(exc, file=sys.stderr)
            return 2
        ctx.room.start_heartbeat()  # stopped, and the room marked stopped, when the app stops
        print(f"仲裁庭 room: {room}")
    print(f"书记员控制台 clerk console: {address}/login")
    if scheme == "http" and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "注意：手机浏览器只在 https 下开放摄像头，请配置 --ssl-certfile/--ssl-keyfile 或 https 反向代理"
        )
    sys.stdout.flush()
    uvicorn.run(
        create_app(ctx),
        host=args.host,
        port=args.port,
        log_level="warning",
        ssl_certfile=str(args.ssl_certfile) if args.ssl_certfile else None,
        ssl_keyfile=str(args.ssl_keyfile) if args.ssl_keyfile else None,
    )
    return 0
