"""The 笔录: export time of a 2-hour hearing, and how many characters a clerk must change.

1. Export: a generated 2-hour hearing (about 30,000 characters of role-prefixed lines over every
   phase, with a recess, evidence, attendance and a signed version) rendered to DOCX and PDF, and
   the exported PDF verified; the median of ``--runs``. Goal: each export ≤ 5 s on 2 cores (the clerk
   waits for it after closing the hearing), verification ≤ 10 s.
2. Clerk throughput: from (recognized, reference) pairs, the characters the clerk must insert,
   delete or replace (character edit distance), against typing the reference from scratch. Goal:
   correcting at least 2× faster than typing ("recording speed up 2×", DOMAIN.md), counting
   ``--read-seconds`` per line to read/listen to it.

    .venv/bin/python bench/bench_bilu.py [--runs 3] [--pairs DIR] [--cpm 100] [--read-seconds 2]

``--pairs DIR`` takes a folder holding ``*.jsonl`` files of ``{"recognized": …, "reference": …}``
objects, and/or line-aligned ``NAME.recognized.txt`` / ``NAME.reference.txt`` pairs (one utterance
a line) — the transcription corpus's output. Without it, pairs are *generated* from the packaged
demo script with a seeded error model (same-sound substitutions, dropped and extra characters,
missing punctuation) at ``--synthetic-cer``: that figure checks the measurement, not the recognizer.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import itertools
import json
import random
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pypinyin import lazy_pinyin

from transcripts.bilu import (
    AttendanceEntry,
    EvidenceShown,
    HearingFacts,
    Milestone,
    Person,
    Printable,
    RecognizedLine,
    SignatureRecord,
    apply_corrections,
    build_document,
    content_sha256,
    document_blocks,
    write_export,
)
from transcripts.bilu.effort import Effort, clerk_effort
from transcripts.bilu.seal import ServerKey
from transcripts.bilu.verify import extract

EXPORT_GOAL_SECONDS = 5.0
VERIFY_GOAL_SECONDS = 10.0
SPEEDUP_GOAL = 2.0
TARGET_CHARS = 30_000
DEMO_SCRIPT = Path(__file__).resolve().parent.parent / "court" / "demo" / "data" / "demo_hearing.toml"
PHASES = ("opening", "investigation", "evidence", "debate", "final_statements", "mediation")
ROLES = {
    "presiding": Person("presiding_arbitrator", "首席仲裁员", "王建国", participant_id=1),
    "arbitrator-left": Person("arbitrator", "仲裁员", "陈静", participant_id=2),
    "arbitrator-right": Person("arbitrator", "仲裁员", "刘洋", participant_id=3),
    "clerk": Person("clerk", "书记员", "赵敏", participant_id=4),
    "applicant": Person("applicant", "申请人", "张伟", participant_id=5),
    "applicant-agent": Person("applicant_agent", "申请人代理人", "孙丽", "示范市明德律师事务所", 6),
    "respondent-agent": Person("respondent_agent", "被申请人代理人", "周强", "示范科技有限公司", 7),
}


def script_lines() -> list[tuple[str, str, str]]:
    raw = tomllib.loads(DEMO_SCRIPT.read_text(encoding="utf-8"))
    return [(str(x["phase"]), str(x["seat"]), str(x["text"])) for x in raw["lines"]]


def two_hour_hearing(target_chars: int = TARGET_CHARS, hours: float = 2.0) -> Printable:
    """A signed version of a generated hearing: the demo's lines repeated, in phase order, until
    about ``target_chars`` characters of speech over ``hours``."""
    base = script_lines()
    per_phase = {p: [x for x in base if x[0] == p] for p in PHASES}
    rounds = target_chars / sum(len(t) for _, _, t in base)
    seconds = hours * 3600
    t0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    milestones = [Milestone("preparing", 0, t0), Milestone("rules", 60, t0 + timedelta(seconds=60))]
    lines: list[RecognizedLine] = []
    span = (seconds - 300) / len(PHASES)
    for index, phase in enumerate(PHASES):
        start = 300 + index * span
        at = t0 + timedelta(seconds=start)
        milestones.append(
            Milestone("opened", start, at) if phase == "opening" else Milestone("phase", start, at, phase)
        )
        said = list(
            itertools.islice(itertools.cycle(per_phase[phase]), round(len(per_phase[phase]) * rounds))
        )
        for k, (_, seat, words) in enumerate(said):
            person = ROLES[seat]
            t = start + 5 + k * (span - 10) / len(said)
            lines.append(
                RecognizedLine(
                    f"u{len(lines)}",
                    person.role,
                    person.role_label,
                    words,
                    t,
                    t + 3,
                    person.name,
                    person.participant_id,
                )
            )
    recess = 300 + 2.5 * span
    milestones += [
        Milestone("recessed", recess, t0 + timedelta(seconds=recess), reason="合议庭休庭评议"),
        Milestone("resumed", recess + 1, t0 + timedelta(seconds=recess + 600)),
        Milestone("closed", seconds, t0 + timedelta(seconds=seconds)),
    ]
    facts = HearingFacts(
        commission="示范市劳动人事争议仲裁委员会",
        case_number="示劳人仲案字〔2026〕第118号",
        cause="劳动报酬及经济补偿金争议",
        place="第一仲裁庭",
        tribunal=(ROLES["presiding"], ROLES["arbitrator-left"], ROLES["arbitrator-right"]),
        recorders=(ROLES["clerk"],),
        attendance=tuple(
            AttendanceEntry(ROLES[s], True, t0 + timedelta(seconds=100 + i), "face", 0.9)
            for i, s in enumerate(("applicant", "applicant-agent", "respondent-agent"))
        ),
        milestones=tuple(milestones),
        evidence=tuple(
            EvidenceShown(
                300 + 2 * span + i, t0, title, "申请人 张伟", hashlib.sha256(title.encode()).hexdigest()
            )
            for i, title in enumerate(("劳动合同", "考勤记录", "工资流水"))
        ),
    )
    document = build_document(facts, apply_corrections(lines))
    blocks = document_blocks(document)
    sha = content_sha256(blocks)
    key = ServerKey.generate()
    signer = ROLES["applicant"]
    record = SignatureRecord(
        1,
        facts.case_number,
        1,
        sha,
        signer,
        False,
        t0 + timedelta(hours=3),
        "iPhone",
        ("login",),
        login="zhangwei",
        key_id=key.key_id,
    )
    record = dataclasses.replace(record, seal=key.seal(record.statement()))
    return Printable(
        facts.case_number, "庭审笔录", blocks, document.signers, 1, sha, (record,), document=document
    )


def timed(runs: int, action: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_export(runs: int) -> None:
    printable = two_hour_hearing()
    assert printable.document is not None
    speech = sum(len(s.text) for s in printable.document.speeches())
    chars = sum(len(b.text) for b in printable.blocks)
    paragraphs = len(printable.blocks)
    print(f"generated hearing: {paragraphs} paragraphs, {speech} characters spoken, {chars} printed")
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("docx", "pdf"):
            path = Path(folder) / f"bilu.{fmt}"
            write_export(printable, fmt, path)  # warm: font registration, imports
            seconds = timed(runs, functools.partial(write_export, printable, fmt, path))
            verdict = "OK" if seconds <= EXPORT_GOAL_SECONDS else "MISSED"
            size = path.stat().st_size / 1e3
            goal = f"goal ≤ {EXPORT_GOAL_SECONDS:.0f} s"
            print(f"export {fmt.upper():4s}: {seconds:.2f} s ({size:.0f} kB)  {goal}  {verdict}")
        pdf = Path(folder) / "bilu.pdf"
        pages = len(extract(pdf).bands)
        seconds = timed(runs, lambda: extract(pdf))
        verdict = "OK" if seconds <= VERIFY_GOAL_SECONDS else "MISSED"
        goal = f"goal ≤ {VERIFY_GOAL_SECONDS:.0f} s"
        print(f"read back the {pages}-page PDF for verification: {seconds:.2f} s  {goal}  {verdict}")


# -- clerk throughput -------------------------------------------------------------------------------


def read_pairs(folder: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                yield str(item["recognized"]), str(item["reference"])
    for rec in sorted(folder.glob("*.recognized.txt")):
        ref = rec.with_name(rec.name.replace(".recognized.txt", ".reference.txt"))
        if not ref.is_file():
            raise SystemExit(f"{rec} has no {ref.name}")
        a, b = rec.read_text(encoding="utf-8").splitlines(), ref.read_text(encoding="utf-8").splitlines()
        if len(a) != len(b):
            raise SystemExit(f"{rec.name} and {ref.name} differ in line count ({len(a)} vs {len(b)})")
        yield from zip(a, b, strict=True)


def synthetic_pairs(cer: float, seed: int = 7) -> list[tuple[str, str]]:
    """Reference lines from the demo script, 'recognized' with seeded errors at about ``cer``:
    60% same-sound substitutions (a character of the script with the same toneless pinyin), 20%
    deletions, 10% insertions, 10% dropped punctuation — the error mix the field notes report."""
    rng = random.Random(seed)
    references = [t for _, _, t in script_lines()]
    by_sound: dict[str, list[str]] = {}
    for ch in set("".join(references)):
        if "\u4e00" <= ch <= "\u9fff":
            by_sound.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    pairs = []
    for reference in references:
        out = []
        for ch in reference:
            roll = rng.random()
            if roll >= cer:
                out.append(ch)
                continue
            kind = rng.random()
            if ch in "，。？、；：" and kind < 0.5:
                continue
            if kind < 0.6 and "\u4e00" <= ch <= "\u9fff":
                twins = [c for c in by_sound.get(lazy_pinyin(ch)[0], []) if c != ch]
                out.append(rng.choice(twins) if twins else rng.choice(reference))
            elif kind < 0.8:
                continue
            else:
                out.extend([ch, rng.choice(reference)])
        pairs.append(("".join(out), reference))
    return pairs


def report_effort(effort: Effort, cpm: float, read_seconds: float, label: str) -> None:
    scratch = effort.reference_chars / cpm
    correcting = effort.clerk_minutes(cpm, read_seconds)
    speedup = scratch / correcting if correcting else float("inf")
    verdict = "OK" if speedup >= SPEEDUP_GOAL else "MISSED"
    print(f"clerk throughput ({label}): {effort.lines} lines, {effort.reference_chars} reference characters")
    print(f"  characters to change: {effort.changed_chars} ({effort.change_rate:.1%} of the reference)")
    print(f"  typing from scratch at {cpm:.0f} chars/min: {scratch:.1f} min")
    print(f"  correcting: {correcting:.1f} min (incl. {read_seconds:.0f} s a line to read/listen)")
    print(f"  speed-up {speedup:.1f}×  goal ≥ {SPEEDUP_GOAL:.0f}×  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairs", type=Path, help="folder of (recognized, reference) pairs")
    parser.add_argument("--synthetic-cer", type=float, default=0.12, help="error rate of generated pairs")
    parser.add_argument("--cpm", type=float, default=100.0, help="clerk typing speed, characters a minute")
    parser.add_argument("--read-seconds", type=float, default=2.0, help="seconds a line to read/listen")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    if not args.skip_export:
        bench_export(args.runs)
    if args.pairs:
        pairs = list(read_pairs(args.pairs))
        if not pairs:
            raise SystemExit(f"no pairs in {args.pairs}")
        report_effort(clerk_effort(pairs), args.cpm, args.read_seconds, str(args.pairs))
    else:
        label = f"SYNTHETIC errors at {args.synthetic_cer:.0%} on the demo script, not a recognizer's output"
        report_effort(clerk_effort(synthetic_pairs(args.synthetic_cer)), args.cpm, args.read_seconds, label)


if __name__ == "__main__":
    main()
