"""The hearings running in this server process: one :class:`~court.host.host.HearingHost` each."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from court.config import Config
from court.host.host import HearingHost
from court.host.rooms import RoomNode


class HearingHosts:
    """The hearings running in this server process, one host each, made on first use."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: Config,
        *,
        key_path: Path | None = None,
        room: RoomNode | None = None,
    ) -> None:
        """``room``: this process as a room of the institute (its hearings are claimed for it)."""
        self.sessions = sessions
        self.config = config
        self.key_path = key_path
        self.room = room
        self._hosts: dict[int, HearingHost] = {}
        self._lock = threading.Lock()

    def get(self, hearing_id: int) -> HearingHost:
        with self._lock:
            host = self._hosts.get(hearing_id)
            if host is None:
                host = HearingHost(
                    self.sessions, hearing_id, self.config, key_path=self.key_path, room=self.room
                )
                self._hosts[hearing_id] = host
            return host

    def running(self, hearing_id: int) -> HearingHost | None:
        with self._lock:
            return self._hosts.get(hearing_id)

    def shutdown(self, reason: str) -> None:
        with self._lock:
            hosts = list(self._hosts.values())
        for host in hosts:
            host.shutdown(reason)
