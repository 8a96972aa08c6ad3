"""The clerk's hand on the live program: director commands and masks, refusals as :class:`HostError`."""

from __future__ import annotations

from court.host.errors import HostError
from court.live.program import LiveProgram


def direct(
    live: LiveProgram, action: str, *, camera: str | None, seconds: float | None, reason: str, actor: str
) -> None:
    """``auto`` (the director decides again), ``manual``, ``select`` a camera, or ``lock`` one for
    ``seconds`` (30 by default)."""
    try:
        if action == "auto":
            live.resume(reason, actor=actor)
        elif action == "manual":
            live.manual(reason, camera, actor=actor)
        elif action == "select" and camera:
            live.select(camera, reason, actor=actor)
        elif action == "lock" and camera:
            live.lock(camera, seconds or 30.0, reason, actor=actor)
        else:
            raise HostError("bad_action", f"无法执行的导播操作 {action!r} (unknown director action)")
    except (KeyError, ValueError) as exc:
        raise HostError("bad_camera", f"没有这个机位 (no such camera): {exc}") from None


def mask(live: LiveProgram, target: str, mode: str | None, reason: str, *, actor: str) -> None:
    """Mask ``target`` on the program feed with ``mode``, or lift its mask (``mode`` None)."""
    try:
        if mode is None:
            live.unmask(target, reason, actor=actor)
        else:
            live.mask(target, mode, reason, actor=actor)
    except Exception as exc:
        raise HostError("bad_mask", f"无法遮蔽 (cannot mask): {exc}") from None
