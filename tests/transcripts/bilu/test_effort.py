from __future__ import annotations

import pytest

from transcripts.bilu.effort import clerk_effort, normalize
from transcripts.text import edit_distance


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("", "", 0),
        ("kitten", "sitting", 3),
        ("现在开庭", "现在开庭。", 1),
        ("加班费", "家班费", 1),
        ("abc", "", 3),
    ],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_effort_counts_changed_characters_against_the_reference() -> None:
    effort = clerk_effort(
        [("现在开廷", "现在开庭。"), ("请求确认劳动关系", "请求确认劳动关系"), ("ｘ y", "xy")]
    )
    assert effort.lines == 3
    assert effort.reference_chars == 5 + 8 + 2
    assert effort.changed_chars == 2
    assert effort.change_rate == pytest.approx(2 / 15)
    assert effort.typing_speedup == pytest.approx(7.5)
    assert effort.clerk_minutes(chars_per_minute=60, seconds_per_line=2) == pytest.approx(2 / 60 + 6 / 60)
    assert normalize("Ａ　b") == "Ab"
