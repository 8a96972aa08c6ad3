from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.clock import WallClock
from devices.interfaces import Device, DeviceFault, DeviceKind, Display, DisplayContent
from devices.real import WindowDisplay


def test_writes_the_current_page_for_a_kiosk(tmp_path: Path) -> None:
    path = tmp_path / "display" / "current.png"
    display = WindowDisplay("display-wall", WallClock(), path, width=960, height=540)
    _: Display = display
    assert isinstance(display, Device) and display.kind is DeviceKind.DISPLAY
    assert display.check().ready
    display.show(DisplayContent("庭审纪律", "请关闭手机。"))
    first = cv2.imread(str(path))
    assert first is not None and first.shape == (540, 960, 3)
    display.show(DisplayContent("开庭", "现在开庭。", np.zeros((50, 50, 3), np.uint8)))
    second = cv2.imread(str(path))
    assert second is not None and not np.array_equal(first, second)
    meta = json.loads((path.parent / "current.json").read_text(encoding="utf-8"))
    assert meta["title"] == "开庭" and meta["seq"] == 2
    html = display.html_path.read_text(encoding="utf-8")
    assert "current.png" in html
    assert not list(path.parent.glob(".*.tmp"))


def test_unwritable_target_is_a_fault(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    display = WindowDisplay("display-wall", WallClock(), blocker / "current.png")
    with pytest.raises(DeviceFault, match="cannot update display"):
        display.show(DisplayContent("x"))
    display.close()
    assert not display.check().ready
