"""TURN through coturn (deploy/coturn, started from the project's template) with the time-limited
credentials the app issues (court/access/turn_credentials.py): a real TURN allocation with an issued
credential succeeds; an expired one, one signed with another secret, or one whose expiry was
edited is refused by coturn itself."""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import stun, turn

from court.access.turn_credentials import TurnService, turn_password, turn_username
from tests.web.edge_services import TurnServer, turn_server

__all__ = ["turn_server"]


async def allocate(server: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation (RFC 5766) over UDP; the relayed address coturn gave."""
    transport, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=(server.site.listen_ip, server.site.port),
            username=username,
            password=password,
            lifetime=600,
            channel_refresh_time=300,
            transport="udp",
        ),
        15,
    )
    try:
        host, port = transport.get_extra_info("sockname")
        return str(host), int(port)
    finally:
        transport.close()


def test_an_issued_credential_allocates_a_relay(turn_server: TurnServer) -> None:
    service = TurnService((turn_server.url,), turn_server.site.secret, ttl_seconds=600)
    ice = service.ice_server("party:12")
    assert ice["urls"] == [turn_server.url]
    expiry, _, identity = ice["username"].partition(":")
    assert identity == "party-12" and abs(int(expiry) - (time.time() + 600)) < 5
    host, port = asyncio.run(allocate(turn_server, ice["username"], ice["credential"]))
    assert host == turn_server.site.listen_ip
    assert turn_server.site.min_port <= port <= turn_server.site.max_port


@pytest.mark.parametrize("case", ["expired", "other secret", "expiry edited"])
def test_coturn_refuses_a_bad_credential(turn_server: TurnServer, case: str) -> None:
    secret = turn_server.site.secret
    expires = int(time.time()) + 600
    username = turn_username("party:12", expires)
    password = turn_password(secret, username)
    if case == "expired":
        username = turn_username("party:12", int(time.time()) - 60)
        password = turn_password(secret, username)
    elif case == "other secret":
        password = turn_password("not-the-court-secret-0000", username)
    else:  # a copied credential given a later expiry
        username = turn_username("party:12", expires + 86400)
    with pytest.raises(stun.TransactionFailed, match="401"):
        asyncio.run(allocate(turn_server, username, password))


def test_the_service_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="turn:"):
        TurnService(("stun:example.org:3478",), "s" * 20)
    with pytest.raises(ValueError, match="60"):
        TurnService(("turn:example.org:3478",), "s" * 20, ttl_seconds=5)
    assert turn_username("王 律师", 100) == "100:----"  # TURN logs get plain ASCII only
