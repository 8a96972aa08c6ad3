#!/usr/bin/env bash
# Make sure the PostgreSQL server the storage tests use is up (the tests run on SQLite and PostgreSQL).
# On a machine without PostgreSQL the PostgreSQL variants are skipped locally; under CI they fail.
set -uo pipefail
url=${COURT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 || echo "note: no PostgreSQL at $url"
# nginx (the public stream server) and coturn (TURN for remote parties) for the demo, from the
# project's templates (deploy/), unprivileged, everything under var/services (secrets included);
# ports from COURT_STREAM_PORT (8088, ingest 8089) and COURT_TURN_PORT (3478). The tests start their
# own on free ports. Missing programs are named here; their tests fail under CI.
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then
  .venv/bin/python -m web.edge_config up --root var/services || echo "note: the stream or TURN server is not running"
fi
exit 0
