#!/usr/bin/env bash
# ClickHouse for the local stack: Debian's clickhouse-server, with its own
# config and data folder under $RIBAO_HOME/clickhouse, listening on loopback.
#   deploy/clickhouse.sh install|start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${RIBAO_CLICKHOUSE_HOST:=127.0.0.1}"
: "${RIBAO_CLICKHOUSE_PORT:=9000}"
: "${RIBAO_CLICKHOUSE_HTTP_PORT:=8123}"
CH_DIR="$RIBAO_HOME/clickhouse"
PIDFILE="$CH_DIR/clickhouse.pid"

install() {
  if command -v clickhouse-server >/dev/null || [[ -x /usr/sbin/clickhouse-server ]]; then return 0; fi
  log "clickhouse: installing Debian's clickhouse-server"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
}

start() {
  install
  if is_running "$PIDFILE"; then log "clickhouse: already running (pid $(cat "$PIDFILE"))"; return 0; fi
  mkdir -p "$CH_DIR"/{conf,data,tmp,log,user_files,format_schemas}
  sed -e "s|@DATA@|$CH_DIR|g" -e "s|@CONF@|$CH_DIR/conf|g" \
      -e "s|@HOST@|$RIBAO_CLICKHOUSE_HOST|g" \
      -e "s|@TCP_PORT@|$RIBAO_CLICKHOUSE_PORT|g" -e "s|@HTTP_PORT@|$RIBAO_CLICKHOUSE_HTTP_PORT|g" \
      "$DEPLOY_DIR/clickhouse/config.xml.in" > "$CH_DIR/conf/config.xml"
  cp "$DEPLOY_DIR/clickhouse/users.xml" "$CH_DIR/conf/users.xml"
  local bin; bin=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
  log "clickhouse: starting on $RIBAO_CLICKHOUSE_HOST:$RIBAO_CLICKHOUSE_PORT (data in $CH_DIR)"
  port_free "$RIBAO_CLICKHOUSE_HOST" "$RIBAO_CLICKHOUSE_PORT" clickhouse
  cd "$CH_DIR"
  nohup "$bin" --config-file="$CH_DIR/conf/config.xml" >"$CH_DIR/log/stdout.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_port "$RIBAO_CLICKHOUSE_HOST" "$RIBAO_CLICKHOUSE_PORT" 60 clickhouse "$PIDFILE"
  log "clickhouse: up (pid $(cat "$PIDFILE"))"
}

status() {
  if is_running "$PIDFILE"; then echo "clickhouse: running (pid $(cat "$PIDFILE")) on $RIBAO_CLICKHOUSE_HOST:$RIBAO_CLICKHOUSE_PORT"
  else echo "clickhouse: stopped"; return 3; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" clickhouse ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
