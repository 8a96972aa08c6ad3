"""`court` subcommands of the face feature.

``court face verify --id-photo A.jpg --probe B.jpg [--json]``: prints ``match`` (true / false / null
for undecided, which goes to the clerk), ``distance`` and ``similarity``; exits 0 whenever it could
decide or explain, 1 when a photo has no usable face (the message says what is wrong).
``court face check-photo A.jpg``: the enrolment rules alone. ``court face enrol``: store a
participant's ID photo and template.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_PHOTO = 1


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this feature's subcommands to the `court` parser."""
    face = commands.add_parser(
        "face", help="face check: verify, check an ID photo, enrol", description=__doc__
    )
    sub = face.add_subparsers(title="face commands", metavar="FACE_COMMAND")

    verify = sub.add_parser("verify", help="compare a probe photo with an ID photo")
    verify.add_argument("--id-photo", type=Path, required=True, help="the enrolled (ID) photo")
    verify.add_argument("--probe", type=Path, required=True, help="the photo to check against it")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument(
        "--accept", type=float, default=0.5, help="accept at or below this distance (default 0.5)"
    )
    verify.add_argument(
        "--reject",
        type=float,
        default=0.6,
        help="reject above this distance (default 0.6); between: undecided",
    )
    verify.set_defaults(handler=_verify)

    check = sub.add_parser("check-photo", help="check that a photo can serve as an ID photo")
    check.add_argument("photo", type=Path)
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_check_photo)

    enrol = sub.add_parser("enrol", help="store a participant's ID photo and face template")
    enrol.add_argument("--participant", type=int, required=True, help="participant id")
    enrol.add_argument("--photo", type=Path, required=True)
    enrol.add_argument("--database", help="store URL (default: COURT_DATABASE_URL or the config's)")
    enrol.set_defaults(handler=_enrol)

    face.set_defaults(handler=lambda args: _help(face))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _read(path: Path) -> bytes:
    from devices.face import PhotoRejected

    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PhotoRejected("not_found", f"照片文件不存在 (photo file not found): {path}") from None
    except OSError as exc:
        raise PhotoRejected("unreadable", f"无法读取照片 (cannot read photo) {path}: {exc}") from None


def _fail(args: argparse.Namespace, which: str, code: str, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": code, "photo": which, "message": message}, ensure_ascii=False))
    print(f"{which}: {message}", file=sys.stderr)
    return EXIT_PHOTO


def _verify(args: argparse.Namespace) -> int:
    from devices.face import (
        FaceModelsMissing,
        PhotoRejected,
        VerifierSettings,
        decode_image,
        distance,
        shared_analyzer,
        verify_once,
    )

    try:
        settings = VerifierSettings(accept_distance=args.accept, reject_distance=args.reject)
    except ValueError as exc:
        print(f"参数错误 (bad thresholds): {exc}", file=sys.stderr)
        return 2
    try:
        analyzer = shared_analyzer()
    except FaceModelsMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    which = "id-photo"
    try:
        reference = analyzer.enrol(decode_image(_read(args.id_photo)))
        which = "probe"
        probe_image = decode_image(_read(args.probe))
    except PhotoRejected as exc:
        return _fail(args, which, exc.code, str(exc))
    probe = analyzer.analyze(probe_image)
    observed = probe.subject
    if observed is None:
        return _fail(args, "probe", "no_face", "照片中未检测到人脸 (no face found in the photo)")
    if observed.embedding is None:
        words = "；".join(text for _, text in observed.problems)
        return _fail(args, "probe", observed.problems[0][0], f"人脸不可用 (face not usable): {words}")
    decision = verify_once(observed.embedding, reference.embedding, settings)
    dist = distance(observed.embedding, reference.embedding)
    body = {
        "match": decision.match,
        "distance": round(dist, 4),
        "similarity": decision.similarity,
        "accept_distance": settings.accept_distance,
        "reject_distance": settings.reject_distance,
        "decision": {True: "accept", False: "reject", None: "undecided"}[decision.match],
        "reason": decision.reason,
        "probe_faces": probe.faces,
        "id_face_px": round(reference.quality.face_px, 1),
        "probe_face_px": round(observed.quality.face_px, 1),
    }
    if args.json:
        print(json.dumps(body, ensure_ascii=False))
    else:
        verdict = {
            True: "同一人 (match)",
            False: "不是同一人 (no match)",
            None: "无法确定，需人工核对 (undecided)",
        }
        print(f"{verdict[decision.match]}：距离 {dist:.3f}，相似度 {decision.similarity:.2f}")
    return 0


def _check_photo(args: argparse.Namespace) -> int:
    from devices.face import FaceModelsMissing, PhotoRejected, decode_image, shared_analyzer

    try:
        face = shared_analyzer().enrol(decode_image(_read(args.photo)))
    except FaceModelsMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    except PhotoRejected as exc:
        return _fail(args, "photo", exc.code, str(exc))
    q = face.quality
    if args.json:
        print(json.dumps({"ok": True, "face_px": round(q.face_px, 1), "sharpness": round(q.sharpness, 1)}))
    else:
        print(f"证件照可用 (photo OK)：人脸 {q.face_px:.0f} 像素，清晰度 {q.sharpness:.0f}")
    return 0


def _enrol(args: argparse.Namespace) -> int:
    from court.attendance.enrolment import enrol_participant
    from court.config import load_config
    from court.core.cases import CaseError
    from court.db.engine import StoreError, database_url, open_store
    from devices.face import PhotoRejected, shared_analyzer

    try:
        url = args.database or database_url(load_config(args.config).storage_url)
        sessions = open_store(url)
        result = enrol_participant(sessions, args.participant, _read(args.photo), shared_analyzer())
    except PhotoRejected as exc:
        return _fail(args, "photo", exc.code, str(exc))
    except (CaseError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"已登记 participant {result.participant_id}：人脸 {result.face_px:.0f} 像素")
    return 0
