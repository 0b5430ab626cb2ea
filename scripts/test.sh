#!/usr/bin/env bash
# The test command (`make test`, called by .ci/run): lint, type-check, then pytest.
# pytest's session fixtures start a real SeaweedFS S3 server and a real PostgreSQL on
# 127.0.0.1 in temporary folders and stop them by pid when the session ends.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

# PostgreSQL's server binaries (Debian): install them if this machine lacks them.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing PostgreSQL server binaries"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    else
        echo "PostgreSQL server binaries not found: apt-get install -y postgresql-15" >&2
        exit 1
    fi
fi

# Debian's Chromium for the review app's browser tests (Playwright drives it; it cannot
# download browsers here).
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing Chromium for the browser tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "Chromium not found: apt-get install -y chromium" >&2
        exit 1
    fi
fi

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== import-linter (layers: cli > flows > tasks > core > db; no cycles; no Prefect in the core)"
lint-imports
echo "== bandit (static security checks)"
bandit -r copydesk db flows tasks -c pyproject.toml -q
echo "== pip-audit (known vulnerabilities; skipped with a line when the service is unreachable)"
python scripts/audit.py
echo "== pytest (SQLite + PostgreSQL, local store + S3 server)"
export COPYDESK_TEST_REQUIRE_SERVICES=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false
python -m pytest -v --durations=15 "$@"
