"""The device base every device builds on: id and kind, a check() that never raises, closing."""

from __future__ import annotations

import pytest

from devices.base import CLOSED, DeviceBase
from devices.interfaces import Device, DeviceFault, DeviceKind, DeviceStatus


class _Unplugged(Exception):
    pass


class _Probe(DeviceBase):
    plain_errors = (_Unplugged,)

    def __init__(self, outcome: Exception | None = None) -> None:
        super().__init__("probe-1", DeviceKind.CAMERA)
        self.outcome = outcome

    def _probe(self) -> DeviceStatus:
        if self.outcome is not None:
            raise self.outcome
        return self.status(True, "fine")

    def read(self) -> None:
        self._ensure_open()


def test_a_device_base_is_a_device_and_reports_its_probe() -> None:
    device = _Probe()
    assert isinstance(device, Device)
    assert (device.device_id, device.kind) == ("probe-1", DeviceKind.CAMERA)
    assert device.check() == DeviceStatus("probe-1", DeviceKind.CAMERA, True, "fine")


def test_check_never_raises() -> None:
    status = _Probe(RuntimeError("boom")).check()
    assert not status.ready and status.detail.startswith("检测失败 (check failed): RuntimeError")
    # An error meant for the clerk is passed on as it is.
    assert _Probe(_Unplugged("未连接 (not connected)")).check().detail == "未连接 (not connected)"


def test_closed_device_says_so_and_faults() -> None:
    device = _Probe()
    device.close()
    assert device.closed
    assert device.check() == DeviceStatus("probe-1", DeviceKind.CAMERA, False, CLOSED)
    with pytest.raises(DeviceFault, match="device closed") as caught:
        device.read()
    assert caught.value.device_id == "probe-1"
