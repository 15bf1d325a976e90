#!/usr/bin/env bash
# The first README command: installs what is missing, then brings up Kafka,
# ClickHouse and the three services (left running) and prints their URLs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$DEPLOY_DIR/bootstrap.sh"
exec "$REPO_DIR/.venv/bin/ribao" stack up "$@"
