#!/usr/bin/env bash
# The local cluster (issue #15), under $RIBAO_CLUSTER_HOME (default .cluster/)
# on ports from $RIBAO_CLUSTER_PORT_BASE (default 19000), beside the
# single-node stack: ZooKeeper, 3 Kafka brokers (KRaft), 2 ClickHouse shards
# x 2 replicas, 2 processes of each service.
#   deploy/cluster.sh up [--infra] | down | status | kill NAME [--signal TERM] | start NAME
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$DEPLOY_DIR/bootstrap.sh"
exec "$REPO_DIR/.venv/bin/python" -m services.cluster "$@"
