"""The clerk's hand on the live program: director commands and masks, refusals as :class:`HostError`."""

from __future__ import annotations

from court.host.errors import HostError
from court.live.director import DirectorError, Mode
from court.live.program import LiveProgram


def direct(
    live: LiveProgram, action: str, *, camera: str | None, seconds: float | None, reason: str, actor: str
) -> None:
    """``auto`` (the director decides again), ``manual``, ``select`` a camera, or ``lock`` one for
    ``seconds`` (30 by default).

    A clerk who selects a camera means it: while the director is automatic or holds a lock, the
    pick is obeyed at once and switching turns manual (the mode says so); ``auto`` hands the picture
    back to the director."""
    if camera is not None and camera not in live.director.cameras:
        known = "、".join(sorted(live.director.cameras))
        raise HostError("bad_camera", f"没有这个机位 {camera!r}，可选：{known} (no such camera)")
    try:
        if action == "auto":
            live.resume(reason, actor=actor)
        elif action == "manual":
            live.manual(reason, camera, actor=actor)
        elif action == "select" and camera:
            if live.director.mode is Mode.MANUAL:
                live.select(camera, reason, actor=actor)
            else:
                live.manual(reason or f"书记员切换到 {camera} (clerk's cut)", camera, actor=actor)
        elif action == "lock" and camera:
            live.lock(camera, seconds or 30.0, reason, actor=actor)
        else:
            raise HostError("bad_action", f"无法执行的导播操作 {action!r} (unknown director action)")
    except (KeyError, ValueError) as exc:
        raise HostError("bad_camera", f"没有这个机位 (no such camera): {exc}") from None
    except DirectorError as exc:
        raise HostError("bad_action", f"导播无法执行该操作 (the director refused): {exc}") from None


def mask(live: LiveProgram, target: str, mode: str | None, reason: str, *, actor: str) -> None:
    """Mask ``target`` on the program feed with ``mode``, or lift its mask (``mode`` None)."""
    try:
        if mode is None:
            live.unmask(target, reason, actor=actor)
        else:
            live.mask(target, mode, reason, actor=actor)
    except Exception as exc:
        raise HostError("bad_mask", f"无法遮蔽 (cannot mask): {exc}") from None
