from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devices import fonts
from devices.fonts import (
    FontNotFoundError,
    draw_text,
    find_cjk_font,
    load_font,
    render_display_content,
    wrap_text,
)


def test_a_cjk_font_is_installed() -> None:
    path = find_cjk_font()
    assert path.is_file()
    font = load_font(24)
    # A CJK font draws different glyphs for different characters (a font without them draws the
    # same ".notdef" box for both).
    a = np.asarray(font.getmask("仲"))
    b = np.asarray(font.getmask("裁"))
    assert a.size and b.size
    assert a.max() > 0
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_explicit_missing_font_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FontNotFoundError, match="not found"):
        find_cjk_font(tmp_path / "none.ttc")
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "env.ttc"))
    with pytest.raises(FontNotFoundError, match="COURT_CJK_FONT"):
        find_cjk_font()


def test_no_font_at_all_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "CANDIDATE_PATHS", ("/nonexistent/font.ttc",))
    monkeypatch.setattr(fonts, "_from_fontconfig", lambda: None)
    fonts._default_font.cache_clear()
    try:
        with pytest.raises(FontNotFoundError, match="fonts-wqy-microhei"):
            find_cjk_font()
    finally:
        fonts._default_font.cache_clear()


def test_wrap_text_fits_and_keeps_punctuation_off_line_starts() -> None:
    font = load_font(20)
    text = "申请人张伟请求裁决被申请人支付拖欠工资人民币三万二千元，并支付解除劳动合同经济补偿金。\n第二段。"
    lines = wrap_text(text, font, 150)
    assert len(lines) > 3
    assert "".join(lines) == text.replace("\n", "")
    for line in lines:
        assert not line.startswith(("，", "。"))
        assert font.getlength(line) <= 150 + font.getlength("，")


def test_draw_text_changes_only_its_box() -> None:
    img = np.full((60, 200, 3), 255, np.uint8)
    x0, y0, x1, y1 = draw_text(img, "首席仲裁员", (10, 10), 20, (0, 0, 0))
    assert x1 > x0 and y1 > y0
    inside = img[y0:y1, x0:x1]
    assert inside.min() < 100
    outside = img.copy()
    outside[y0:y1, x0:x1] = 255
    assert outside.min() == 255


def test_render_display_content() -> None:
    picture = np.zeros((100, 80, 3), np.uint8)
    picture[:, :, 2] = 255
    img = render_display_content("庭审纪律", "全体起立。" * 40, picture, width=640, height=360)
    assert img.shape == (360, 640, 3)
    assert img.dtype == np.uint8
    # The red picture is on the right half; the text area is not uniform.
    assert (img[:, 320:, 2] > 200).sum() > 1000
    assert img[100:300, 20:300].std() > 10
