"""The two services in front of the court's web side, configured from the project's templates:
nginx for the public stream (``deploy/nginx/court-stream.conf.in``) and coturn for remote parties'
relays (``deploy/coturn/turnserver.conf.in``).

``scripts/services.sh`` starts both for the demo and the tests (``python -m web.edge_config up``),
unprivileged, with every pid, log, temporary and data path under one folder (``var/services``);
the tests and the bench render their own on free ports. The secrets they share with the app are
made once into files (mode 600) that ``court serve`` reads (``--stream-secret-file``,
``--turn-secret-file``).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "court-stream.conf.in"
COTURN_TEMPLATE = DEPLOY / "coturn" / "turnserver.conf.in"
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def find_program(name: str) -> str | None:
    """``nginx`` and ``turnserver`` live in /usr/sbin, which an unprivileged PATH may lack."""
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).is_file()), None
    )


def ensure_secret(path: Path) -> str:
    """The secret in ``path``, made (48 hex characters, mode 600) when it is not there yet."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
    return path.read_text(encoding="utf-8").strip()


def _fill(template: Path, values: dict[str, str]) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"unfilled placeholders {left} in {template}")
    return text


@dataclass(frozen=True)
class NginxSite:
    """One nginx for the public stream: ``var`` holds its pid, log, temporary files and the
    published streams (``var/data/live/<stream>/``)."""

    var: Path
    secret: str
    public_listen: str = "127.0.0.1:8088"
    ingest_listen: str = "127.0.0.1:8089"
    ingest_allow: Sequence[str] = ("127.0.0.1",)
    """Addresses (or CIDR ranges) of the room nodes allowed to publish."""
    workers: str = "auto"

    @property
    def data(self) -> Path:
        return self.var / "data"

    @property
    def conf(self) -> Path:
        return self.var / "nginx.conf"

    def render(self) -> str:
        return _fill(
            NGINX_TEMPLATE,
            {
                # Started as root (a container, CI), nginx would hand its workers to `nobody`,
                # who cannot write under a root-owned project folder; unprivileged it ignores this.
                "USER_LINE": "user root;" if os.geteuid() == 0 else "",
                "WORKERS": self.workers,
                "VAR": str(self.var),
                "DATA": str(self.data),
                "PUBLIC_LISTEN": self.public_listen,
                "INGEST_LISTEN": self.ingest_listen,
                "INGEST_ALLOW": "\n".join(f"            allow {a};" for a in self.ingest_allow),
                "SECRET": self.secret,
            },
        )

    def write(self) -> Path:
        for name in (*NGINX_TEMP_DIRS, "data/live"):
            (self.var / name).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.render(), encoding="utf-8")
        self.conf.chmod(0o600)
        return self.conf

    def command(self, nginx: str, *, foreground: bool = False) -> list[str]:
        extra = ["-g", "daemon off;"] if foreground else []
        return [nginx, "-p", str(self.var), "-c", str(self.conf), "-e", str(self.var / "error.log"), *extra]


@dataclass(frozen=True)
class TurnSite:
    """One coturn: ``listen_ip`` is where parties reach it (and, unless ``relay_ip`` says otherwise,
    where it relays from); ``var`` holds its pid, log and database."""

    var: Path
    secret: str
    listen_ip: str = "127.0.0.1"
    port: int = 3478
    relay_ip: str = ""
    min_port: int = 49160
    max_port: int = 49260
    realm: str = "court.local"
    allow_loopback_peers: bool = False
    """Tests only: relay to peers on 127.x (never in a real institute: it would reach its services)."""

    @property
    def conf(self) -> Path:
        return self.var / "turnserver.conf"

    def render(self) -> str:
        return _fill(
            COTURN_TEMPLATE,
            {
                "PORT": str(self.port),
                "LISTEN_IP": self.listen_ip,
                "RELAY_LINE": f"relay-ip={self.relay_ip}" if self.relay_ip else "",
                "MIN_PORT": str(self.min_port),
                "MAX_PORT": str(self.max_port),
                "SECRET": self.secret,
                "REALM": self.realm,
                "PEERS_LINE": "allow-loopback-peers" if self.allow_loopback_peers else "",
                "VAR": str(self.var),
            },
        )

    def write(self) -> Path:
        self.var.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.render(), encoding="utf-8")
        self.conf.chmod(0o600)
        return self.conf

    def command(self, turnserver: str, *, foreground: bool = False) -> list[str]:
        return [turnserver, "-c", str(self.conf), *([] if foreground else ["-o"])]


def _running(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def up(root: Path) -> int:
    """Start nginx and coturn under ``root`` unless they run already (``scripts/services.sh``).
    Ports from ``COURT_STREAM_PORT`` (8088; the ingest on the next port) and ``COURT_TURN_PORT``
    (3478). Missing programs are named, and the exit status says so (1)."""
    status = 0
    secrets_dir = root / "secrets"
    nginx = find_program("nginx")
    port = int(os.environ.get("COURT_STREAM_PORT", "8088"))
    site = NginxSite(
        root / "nginx",
        ensure_secret(secrets_dir / "stream.secret"),
        public_listen=f"127.0.0.1:{port}",
        ingest_listen=f"127.0.0.1:{port + 1}",
    )
    if nginx is None:
        print("note: nginx not installed (apt-get install nginx): no public stream server", file=sys.stderr)
        status = 1
    elif _running(site.var / "nginx.pid"):
        print(f"nginx: already running (public http://{site.public_listen}/live)")
    else:
        site.write()
        if subprocess.run(site.command(nginx)).returncode != 0:
            print(f"note: nginx did not start (port taken? see {site.var / 'error.log'})", file=sys.stderr)
            status = 1
        else:
            print(f"nginx: started (public http://{site.public_listen}/live, ingest {site.ingest_listen})")
    turnserver = find_program("turnserver")
    turn = TurnSite(
        root / "coturn",
        ensure_secret(secrets_dir / "turn.secret"),
        port=int(os.environ.get("COURT_TURN_PORT", "3478")),
    )
    if turnserver is None:
        print("note: coturn not installed (apt-get install coturn): no TURN server", file=sys.stderr)
        status = 1
    elif _running(turn.var / "turnserver.pid"):
        print(f"coturn: already running (turn:{turn.listen_ip}:{turn.port})")
    else:
        turn.write()
        if subprocess.run(turn.command(turnserver)).returncode != 0:
            print(f"note: coturn did not start (see {turn.var / 'turnserver.log'})", file=sys.stderr)
            status = 1
        else:
            print(f"coturn: started (turn:{turn.listen_ip}:{turn.port})")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.edge_config", description=__doc__)
    parser.add_argument("action", choices=["up"])
    parser.add_argument("--root", type=Path, default=Path("var/services"), help="folder of both services")
    args = parser.parse_args(argv)
    return up(args.root.resolve())


if __name__ == "__main__":
    sys.exit(main())
