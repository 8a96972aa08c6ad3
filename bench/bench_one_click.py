"""Click → recording running, and click → discipline audio playing, on the simulated courtroom with
models warm (the discipline already synthesized and cached). Goal: ≤ 2 s each.

    python bench/bench_one_click.py [--runs 3]

Each run is a fresh store and hearing in a temporary folder, at real speed, the clerk confirming
attendance at once (the face check is measured in its own benchmark).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from court.attendance.arrivals import ClerkConfirmation
from court.config import load_config
from court.core.cases import NewParticipant, create_case, create_hearing
from court.core.roles import Role
from court.db.engine import close_store, open_store
from court.live.assembly import assemble_session, build_announcement
from court.live.room import SimulationInputs
from devices.clock import ScaledClock

GOAL_SECONDS = 2.0


def one_run(folder: Path, cache: Path) -> tuple[float, float]:
    config = load_config()
    config = replace(
        config,
        recording=replace(config.recording, root=folder / "recording", backup=folder / "backup"),
        models=replace(config.models, cache_dir=cache),
        # Without the live transcript and program, as before: the start itself is measured here.
        transcription=replace(config.transcription, enabled=False),
    )
    sessions = open_store(f"sqlite:///{folder / 'court.db'}")
    case_id = create_case(
        sessions,
        case_number="基准〔2026〕第1号",
        cause="劳动报酬争议",
        commission=config.room.commission,
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", seat_id="respondent-agent"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room=config.room.name)
    announcement = build_announcement(config)
    announcement.warm()  # models warm: the discipline is synthesized before the click
    session = assemble_session(
        sessions, hearing_id, config, ScaledClock(1.0), announcement, simulation=SimulationInputs(names={})
    ).session
    parties = [p.id for p in session.hearing.participants]
    try:
        report = session.one_click_start(ClerkConfirmation(parties))
    finally:
        session.shutdown("benchmark end")
        close_store(sessions)
    return report.click_to_recording, report.click_to_rules_audio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    recording_times, rules_times = [], []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-one-click-") as folder:
            started = time.monotonic()
            to_recording, to_rules = one_run(Path(folder), cache)
            note = " (first run: cold caches, not counted)" if i == 0 else ""
            whole = time.monotonic() - started
            print(
                f"run {i + 1}: click→recording {to_recording:.2f} s, click→rules audio {to_rules:.2f} s"
                f"  [whole run incl. playing the discipline {whole:.1f} s]{note}"
            )
            if i > 0 or args.runs == 1:
                recording_times.append(to_recording)
                rules_times.append(to_rules)
    for name, values in (
        ("click → recording running", recording_times),
        ("click → discipline playing", rules_times),
    ):
        print(
            f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s "
            f"over {len(values)} warm runs (goal ≤ {GOAL_SECONDS:.1f} s: "
            f"{'met' if max(values) <= GOAL_SECONDS else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
