"""`court` subcommands of the bilu feature: export, verify-bilu, lock, sign, bilu-status.

The store is ``--database``, else ``COURT_DATABASE_URL``, else the config's ``[storage] url``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FORMATS = ("docx", "pdf", "txt", "json", "akn")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this feature's subcommands to the `court` parser."""
    export = commands.add_parser(
        "export",
        help="write a hearing's 笔录 (DOCX, PDF, plain text, JSON or Akoma Ntoso XML)",
        description="Write the 笔录 of a hearing: its version out for signature (with the signatures so "
        "far), a given --version, or — when none is locked — the current draft.",
    )
    export.add_argument("--hearing", type=int, required=True, help="hearing id")
    export.add_argument("--format", choices=FORMATS, required=True)
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--version", type=int, help="a locked version number (default: the current one)")
    _database(export)
    export.set_defaults(handler=_export)

    verify = commands.add_parser(
        "verify-bilu",
        help="check an exported 笔录 against the record; non-zero, saying what differs, if altered",
    )
    verify.add_argument("file", type=Path, help="an exported PDF, DOCX, TXT or JSON 笔录")
    _database(verify)
    verify.set_defaults(handler=_verify)

    lock = commands.add_parser("lock", help="send a closed hearing's 笔录 for signature (freeze a version)")
    lock.add_argument("--hearing", type=int, required=True)
    lock.add_argument("--actor", help="who locks it (default: the case's clerk)")
    _key(lock)
    _database(lock)
    lock.set_defaults(handler=_lock)

    sign = commands.add_parser("sign", help="sign (or refuse to sign) the version out for signature")
    sign.add_argument("--hearing", type=int, required=True)
    sign.add_argument("--participant", type=int, required=True, help="the signer's participant id")
    sign.add_argument("--sha256", required=True, help="the hash of the version the signer reviewed")
    sign.add_argument("--device", required=True, help="the device signed on")
    sign.add_argument("--image", type=Path, help="the handwritten signature (PNG or JPEG)")
    sign.add_argument("--login", default="", help="the signer's login, confirming it")
    sign.add_argument("--refuse", metavar="REASON", help="record a refusal to sign, with its reason")
    _key(sign)
    _database(sign)
    sign.set_defaults(handler=_sign)

    status = commands.add_parser("bilu-status", help="a hearing's 笔录: versions and signatures")
    status.add_argument("--hearing", type=int, required=True)
    _database(status)
    status.set_defaults(handler=_status)


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", help="store URL (default: $COURT_DATABASE_URL or the config)")


def _key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        type=Path,
        help="the server's signing key file (default: $COURT_SIGNING_KEY, else beside a SQLite store)",
    )


def _url(args: argparse.Namespace) -> str:
    from court.config import load_config
    from court.db.engine import database_url

    if args.database:
        return str(args.database)
    return database_url(load_config(args.config).storage_url)


def _run(args: argparse.Namespace, action: Any) -> int:
    from court.core.cases import CaseError
    from court.db.engine import StoreError, close_store, open_store
    from court.record.bilu import BiluError
    from transcripts.bilu.seal import SigningKeyError
    from transcripts.bilu.verify import ExtractError

    try:
        sessions = open_store(_url(args))
    except StoreError as exc:
        print(f"无法打开数据库 {exc}", file=sys.stderr)
        return 2
    try:
        code: int = action(sessions)
        return code
    except (BiluError, CaseError, SigningKeyError, ExtractError) as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    finally:
        close_store(sessions)


def _export(args: argparse.Namespace) -> int:
    from court.record.bilu import Bilu

    def action(sessions: Any) -> int:
        printable = Bilu(sessions, args.hearing).export(args.format, args.out, version=args.version)
        what = (
            f"版本 {printable.version} SHA-256 {printable.sha256}" if printable.locked else "草稿（未锁定）"
        )
        print(f"已导出 {args.out}（{what}，签名 {len(printable.signatures)} 项）")
        return 0

    return _run(args, action)


def _verify(args: argparse.Namespace) -> int:
    from court.record.bilu import verify_file

    def action(sessions: Any) -> int:
        report = verify_file(sessions, args.file)
        for note in report.notes:
            print(note)
        if report.ok:
            print(
                f"核验通过 verified: {args.file} 是版本 {report.version} 的未改动导出 "
                f"(SHA-256 {report.sha256})，已核对签名 {report.signatures} 项"
            )
            return 0
        print(f"核验失败 NOT verified: {args.file}")
        for problem in report.problems:
            print(f"  - {problem}")
        return 1

    return _run(args, action)


def _lock(args: argparse.Namespace) -> int:
    from court.record.bilu import Bilu

    def action(sessions: Any) -> int:
        version = Bilu(sessions, args.hearing, key_path=args.key).lock(actor=args.actor)
        print(json.dumps({"version": version.number, "sha256": version.sha256}, ensure_ascii=False))
        return 0

    return _run(args, action)


def _sign(args: argparse.Namespace) -> int:
    from court.record.bilu import Bilu

    def action(sessions: Any) -> int:
        bilu = Bilu(sessions, args.hearing, key_path=args.key)
        if args.refuse is not None:
            record = bilu.refuse(args.participant, args.sha256, reason=args.refuse, device=args.device)
        else:
            image = args.image.read_bytes() if args.image else None
            record = bilu.sign(
                args.participant, args.sha256, device=args.device, image=image, login=args.login
            )
        status = "拒绝签名" if record.refused else "已签名"
        print(f"{record.signer.label} {status}（版本 {record.version}，签章 {record.seal_code}）")
        return 0

    return _run(args, action)


def _status(args: argparse.Namespace) -> int:
    from court.record.bilu import Bilu

    def action(sessions: Any) -> int:
        bilu = Bilu(sessions, args.hearing)
        versions = bilu.versions()
        body = {
            "hearing": args.hearing,
            "lines": len(bilu.lines()),
            "versions": [
                {
                    "version": v.number,
                    "sha256": v.sha256,
                    "locked_at": v.locked_at.isoformat(),
                    "superseded": v.superseded,
                    "signers": [p.label for p in v.document.signers],
                    "signatures": [
                        {"signer": s.signer.label, "refused": s.refused, "at": s.at.isoformat()}
                        for s in bilu.signatures(v.number)
                    ],
                }
                for v in versions
            ],
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0

    return _run(args, action)
