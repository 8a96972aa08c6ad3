"""The ``court`` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

from court.config import ConfigError, load_config

DEFAULT_DEMO_ROOT = Path("demo-out")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if not args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        print(f"配置错误 config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="court",
        description="Digital labour-arbitration courtroom: one-click start, recording, transcription, "
        "broadcast.",
    )
    parser.add_argument(
        "--config", type=Path, help="the room's TOML config (default: the embedded simulated room)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a complete scripted hearing on the simulated courtroom",
        description="Run a complete scripted hearing (one-click start, phases, close) on the simulated "
        "courtroom "
        "and write DIR/timeline.jsonl, DIR/recording/ and DIR/hearing.json.",
    )
    demo.add_argument("--out", type=Path, help="output folder (default: demo-out/<time>)")
    demo.add_argument("--script", type=Path, help="hearing script TOML (default: the packaged demo hearing)")
    demo.add_argument(
        "--speed", type=float, default=1.0, help="simulated time per real second (default 1: real speed)"
    )
    demo.add_argument(
        "--resume", action="store_true", help="continue the demo hearing in --out after a crash"
    )
    demo.add_argument(
        "--room-acoustics",
        action="store_true",
        help="every seat microphone also hears the others 20-30 dB down, with reverberation",
    )
    demo.set_defaults(handler=_demo)

    verify = commands.add_parser(
        "verify",
        help="check a recording folder: hashes, chain, order; non-zero naming the segment on any alteration",
    )
    verify.add_argument("recording", type=Path, help="the recording folder (holding manifest.jsonl)")
    verify.add_argument("--backup", type=Path, help="also compare with this backup copy")
    verify.add_argument(
        "--hearing-file",
        type=Path,
        help="hearing.json naming the hearing and its store, to compare the manifest with the hearing "
        "timeline (default: hearing.json beside the recording folder, when there is one)",
    )
    verify.set_defaults(handler=_verify)

    check = commands.add_parser("config-check", help="read the config and report the first problem")
    check.set_defaults(handler=_config_check)

    from court.cli import bilu, face, transcribe

    for feature in (face, bilu, transcribe):
        feature.register(commands)
    # Commands of installed parts that depend on `court` (e.g. `serve` from `web`): `court` must not
    # import them itself.
    for entry in entry_points(group="court.commands"):
        entry.load()(commands)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from court.demo.hearing import ROOM_ACOUSTICS, resume_demo, run_demo

    config = load_config(args.config)
    if args.speed <= 0:
        print("--speed must be positive", file=sys.stderr)
        return 2
    acoustics = ROOM_ACOUSTICS if args.room_acoustics else None
    if args.resume:
        if args.out is None:
            print("--resume needs --out DIR of the interrupted demo", file=sys.stderr)
            return 2
        result = resume_demo(args.out, config, speed=args.speed, acoustics=acoustics)
    else:
        out = args.out or DEFAULT_DEMO_ROOT / datetime.now().strftime("%Y%m%d-%H%M%S")
        result = run_demo(out, config, script_path=args.script, speed=args.speed, acoustics=acoustics)
    print(
        json.dumps(
            {
                "out": str(result.out),
                "hearing": result.hearing_id,
                "database": result.database,
                "state": result.state.value,
                "events": result.events,
                "timeline": str(result.out / "timeline.jsonl"),
                "recording": str(result.out / "recording"),
            },
            ensure_ascii=False,
        )
    )
    print(f"演示庭审已完成，输出在 {result.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from devices.recording.verify import main as verify_main

    argv = [str(args.recording)]
    if args.backup:
        argv += ["--backup", str(args.backup)]
    code = verify_main(argv)
    hearing_file = args.hearing_file or args.recording.resolve().parent / "hearing.json"
    if code == 2 or not hearing_file.exists():
        return code
    from court.db.engine import close_store, open_store
    from court.live.recording_check import compare_with_timeline

    info = json.loads(hearing_file.read_text(encoding="utf-8"))
    sessions = open_store(str(info["database"]), upgrade=False)
    try:
        problems, notes = compare_with_timeline(args.recording, sessions, int(info["id"]))
    finally:
        close_store(sessions)
    for note in notes:
        print(f"note: {note}")
    if problems:
        print(f"Compared with the timeline of hearing {info['id']}: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"Compared with the timeline of hearing {info['id']}: every segment matches.")
    return code


def _config_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(
        f"config OK: room {config.room.name}, {len(config.room.cameras)} cameras, "
        f"{len(config.room.seats)} seats"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
