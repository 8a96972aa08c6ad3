"""The documented JSON form of the 笔录, for archives and case-management systems.

One UTF-8 JSON object (``court export --format json``)::

    {
      "format": "court-bilu",            # always this
      "format_version": 1,
      "case_number": "示劳人仲案字〔2026〕第118号",
      "title": "庭审笔录",               # or 调解笔录
      "version": {                       # null for a draft
        "number": 1,
        "sha256": "…64 hex…",            # SHA-256 of the canonical text (see "text")
        "locked_at": "2026-12-01T02:31:07.120000+00:00",
        "locked_by": "clerk",
        "hearing_id": 3,
        "key_id": "…32 hex…",            # which server key sealed it
        "seal": "…128 hex…"              # Ed25519 over the version statement (transcripts.bilu.signatures)
      },
      "public_key": {"algorithm": "ed25519", "key_id": "…", "hex": "…64 hex…"},   # null for a draft
      "text": [{"kind": "speech", "text": "首席仲裁员：现在开庭。"}, …],
          # the 笔录 as printed, one block per paragraph; kinds: org, title, meta, heading, speech,
          # note, statement, signer. The version's hash is SHA-256 over each text + "\n", joined, NFC.
      "document": {                      # the same content, structured
        "header": {"commission", "title", "case_number", "cause", "place", "opened_at", "closed_at",
                   "tribunal": [person], "recorders": [person],
                   "attendance": [{"person", "present", "at", "method": "face"|"clerk", "similarity",
                                   "remote", "note"}]},
        "sections": [{"phase": "preparation"|"opening"|"investigation"|"evidence"|"debate"|
                                "final_statements"|"mediation"|"closing",
                      "heading": "庭审调查",
                      "items": [{"type": "speech", "line_id", "role", "role_label", "speaker", "text",
                                 "start", "end",          # hearing-clock seconds (play back here)
                                 "marks": ["异议"], "recognized": "first recognized text",
                                 "history": [{"seq", "actor", "at", "kind", "before", "after",
                                              "reason", "request_id"}],
                                 "merged": [{"line_id", "recognized"}]}
                                | {"type": "note", "kind", "text", "t", "line_id"}]}],
        "signers": [person],             # person: {"role", "role_label", "name", "organization",
                                         #          "participant_id"}
        "utc_offset_minutes": 480,       # the local time the text prints
        "extra": {}
      },
      "signatures": [{"statement": {…}, "key_id": "…", "seal": "…"}],
          # each statement: type "bilu.signature", hearing_id, case_number, version, sha256, signer
          # (person), status "signed"|"refused", at, device, methods ["handwritten","login","face"],
          # login, face_similarity, reason, image_sha256; sealed with the server key
      "signature_record": ["申请人 张伟：已签名，2026-12-01 10:21:33，手写签名，设备：…，签章 3fa9…"]
    }

Times are ISO 8601 with offset (UTC). To check a file without the store: recompute the hash from
``text``; check ``version.seal`` over the version statement and each signature's seal with
``public_key`` (:func:`transcripts.bilu.seal.verify_seal`); then compare ``public_key.key_id`` with
the one the commission publishes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transcripts.bilu.layout import blocks_to_json
from transcripts.bilu.model import document_to_dict
from transcripts.bilu.printable import Printable
from transcripts.bilu.seal import key_id_of

FORMAT = "court-bilu"
FORMAT_VERSION = 1


def bilu_json(printable: Printable) -> dict[str, Any]:
    seal = printable.version_seal
    version: dict[str, Any] | None = None
    if printable.locked:
        version = {"number": printable.version, "sha256": printable.sha256}
        if seal is not None:
            statement = seal.statement()
            version.update(
                {
                    "locked_at": statement["locked_at"],
                    "locked_by": seal.locked_by,
                    "hearing_id": seal.hearing_id,
                    "key_id": seal.key_id,
                    "seal": seal.seal,
                }
            )
    public_key = (
        {"algorithm": "ed25519", "key_id": key_id_of(printable.public_key), "hex": printable.public_key.hex()}
        if printable.public_key is not None
        else None
    )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "case_number": printable.case_number,
        "title": printable.title,
        "version": version,
        "public_key": public_key,
        "text": blocks_to_json(printable.blocks),
        "document": document_to_dict(printable.document) if printable.document is not None else None,
        "signatures": [
            {"statement": r.statement(), "key_id": r.key_id, "seal": r.seal} for r in printable.signatures
        ],
        "signature_record": [b.text for b in printable.record_blocks()],
    }


def write_json(printable: Printable, path: Path) -> None:
    path.write_text(json.dumps(bilu_json(printable), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
