#!/usr/bin/env bash
# The second README command: installs what is missing, starts Kafka and
# ClickHouse (the tests start their own ingest, aggregator and API against a
# database and topic of their own), then runs lint, types and every test.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$DEPLOY_DIR/bootstrap.sh"
cd "$REPO_DIR"
.venv/bin/ribao stack up --infra
log "lint: ruff"; .venv/bin/ruff check .
log "types: mypy (strict)"; .venv/bin/mypy
log "schema: JSON Schema up to date"; .venv/bin/ribao jsonschema --check
log "tests: pytest"
exec .venv/bin/pytest "$@"
