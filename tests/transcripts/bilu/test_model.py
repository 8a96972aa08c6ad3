from __future__ import annotations

import json

from tests.transcripts.bilu.samples import document
from transcripts.bilu.model import document_from_dict, document_to_dict


def test_the_json_form_round_trips() -> None:
    doc = document()
    raw = json.loads(json.dumps(document_to_dict(doc), ensure_ascii=False))
    back = document_from_dict(raw)
    assert back == doc
    merged = next(s for s in back.speeches() if s.line_id == "u11")
    assert merged.merged == (("u12", "并支付工资。"),)
    assert merged.history[0].kind == "merge"
