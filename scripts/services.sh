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
exit 0
