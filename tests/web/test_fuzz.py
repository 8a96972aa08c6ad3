"""An API fuzz generated from ``/openapi.json`` with Schemathesis: valid and invalid requests to every
operation, as the clerk and as a party, with the path's hearing id mostly a real one (so the checks
behind the first 404 are reached too). Whatever it sends, the server must answer without a 5xx.

Bounded for CI: a fixed number of cases per operation, generated deterministically (a failure
reproduces), no shrinking. In process (the ASGI app), nothing leaves the machine. Left out: the
one-click start (it assembles a whole simulated room) and the event stream (it never ends)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.web.support import api_in_process
from tests.web.test_api import Api

pytestmark = pytest.mark.slow  # 20–60 s on two shared cores

MIN_CASES = 1000
SKIPPED = {
    ("POST", "/api/hearings/{hearing_id}/start"),
    ("GET", "/api/hearings/{hearing_id}/events/stream"),
    ("POST", "/api/logout"),  # would end the very session the fuzz runs as
}
PER_OPERATION = {
    # (mode, examples) for each pass; the clerk's pass reaches the most code.
    "clerk": ((GenerationMode.POSITIVE, 16), (GenerationMode.NEGATIVE, 6)),
    "party": ((GenerationMode.POSITIVE, 4), (GenerationMode.NEGATIVE, 2)),
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-fuzz"), model_cache) as api:
        yield api


def test_no_request_makes_the_server_fail(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    sent: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    clerk = api.login("clerk")
    for who, passes in PER_OPERATION.items():
        # The party signs in after the clerk's pass: the clerk's invitations revoke older codes.
        headers = clerk if who == "clerk" else api.party(api.hearings[1], "applicant")
        for operation in operations:
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue
            for mode, examples in passes:
                _fuzz(api, operation, mode, examples, headers, sent, failures)
    elapsed = time.monotonic() - started
    total = sum(sent.values())
    print(f"fuzz: {total} cases over {len(sent)} operations in {elapsed:.0f} s")
    assert not failures, "\n".join(failures[:20])
    assert total >= MIN_CASES


def _fuzz(
    api: Api,
    operation: Any,
    mode: GenerationMode,
    examples: int,
    headers: dict[str, str],
    sent: Counter[str],
    failures: list[str],
) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.integers(0, 3))
    def run(case: Any, real: int) -> None:
        if "hearing_id" in (case.path_parameters or {}) and real:
            case.path_parameters["hearing_id"] = api.hearings[real % 2]
        response = case.call(headers={**(case.headers or {}), **headers})
        sent[name] += 1
        if response.status_code >= 500:
            failures.append(
                f"{name} → {response.status_code}: {case.as_curl_command()}\n  {response.text[:300]}"
            )

    # Unsatisfiable: nothing to make invalid (no parameters, no body); its valid pass has run.
    with contextlib.suppress(Unsatisfiable):
        run()
