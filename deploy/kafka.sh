#!/usr/bin/env bash
# Apache Kafka for the local stack: the broker's jars fetched from Maven Central
# with mvn (deploy/kafka/pom.xml), one KRaft node on loopback, run with Java 17.
#   deploy/kafka.sh fetch|format|start|stop|status
# `start` fetches and formats first when needed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${RIBAO_KAFKA_HOST:=127.0.0.1}"
: "${RIBAO_KAFKA_PORT:=9092}"
: "${RIBAO_KAFKA_CONTROLLER_PORT:=9093}"
: "${RIBAO_KAFKA_HEAP:=1G}"
KAFKA_DIR="$RIBAO_HOME/kafka"
LIBS="$KAFKA_DIR/libs"
PIDFILE="$KAFKA_DIR/kafka.pid"
CONF="$KAFKA_DIR/server.properties"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$DEPLOY_DIR/kafka/pom.xml")

fetch() {
  if [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  log "kafka: fetching Apache Kafka $KAFKA_VERSION from Maven Central"
  rm -rf "$LIBS.tmp"; mkdir -p "$LIBS.tmp"
  mvn -q -B -f "$DEPLOY_DIR/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >&2
  rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"
}

kjava() { java -Xmx"$RIBAO_KAFKA_HEAP" -Xms256m -Dkafka.logs.dir="$KAFKA_DIR/log" \
  -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.properties" -cp "$LIBS/*" "$@"; }

configure() {
  mkdir -p "$KAFKA_DIR"/{data,log}
  sed -e "s|@DATA@|$KAFKA_DIR/data|g" -e "s|@HOST@|$RIBAO_KAFKA_HOST|g" \
      -e "s|@PORT@|$RIBAO_KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$RIBAO_KAFKA_CONTROLLER_PORT|g" \
      "$DEPLOY_DIR/kafka/server.properties.in" > "$CONF"
}

format() {
  fetch; configure
  if [[ -f "$KAFKA_DIR/data/meta.properties" ]]; then return 0; fi
  local cluster_id; cluster_id=$(kjava kafka.tools.StorageTool random-uuid)
  log "kafka: formatting KRaft storage (cluster $cluster_id)"
  kjava kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF" >&2
}

start() {
  if is_running "$PIDFILE"; then log "kafka: already running (pid $(cat "$PIDFILE"))"; return 0; fi
  format
  port_free "$RIBAO_KAFKA_HOST" "$RIBAO_KAFKA_PORT" kafka
  port_free "$RIBAO_KAFKA_HOST" "$RIBAO_KAFKA_CONTROLLER_PORT" "kafka controller"
  log "kafka: starting $KAFKA_VERSION on $RIBAO_KAFKA_HOST:$RIBAO_KAFKA_PORT (data in $KAFKA_DIR/data)"
  nohup java -Xmx"$RIBAO_KAFKA_HEAP" -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_DIR/log" -Dlog4j2.configurationFile="$DEPLOY_DIR/kafka/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$CONF" >"$KAFKA_DIR/log/stdout.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_port "$RIBAO_KAFKA_HOST" "$RIBAO_KAFKA_PORT" 90 kafka "$PIDFILE"
  log "kafka: up (pid $(cat "$PIDFILE"))"
}

status() {
  if is_running "$PIDFILE"; then echo "kafka: running (pid $(cat "$PIDFILE")) on $RIBAO_KAFKA_HOST:$RIBAO_KAFKA_PORT"
  else echo "kafka: stopped"; return 3; fi
}

# Runs one of Kafka's own tools, e.g. `deploy/kafka.sh tool org.apache.kafka.tools.ProducerPerformance ...`
tool() { fetch; kjava "$@"; }

case "${1:-}" in
  fetch) fetch ;;
  format) format ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" kafka ;;
  status) status ;;
  tool) shift; tool "$@" ;;
  *) echo "usage: $0 fetch|format|start|stop|status|tool CLASS ARGS..." >&2; exit 2 ;;
esac
