# Shared helpers for the deploy scripts (sourced, not run).
# Every setting comes from the environment with a loopback default.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$DEPLOY_DIR/.." && pwd)"
: "${RIBAO_HOME:=$REPO_DIR/.stack}"
export RIBAO_HOME

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# is_running PIDFILE -> 0 when the pid in the file is alive.
is_running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# port_free HOST PORT NAME -> dies when something else already listens there.
port_free() {
  if port_open "$1" "$2"; then
    die "$3: $1:$2 is already in use by another process (stop it, or set another port)"
  fi
}

# wait_port HOST PORT SECONDS NAME PIDFILE -> waits until the process in PIDFILE
# accepts connections on the port; dies if it exits first.
wait_port() {
  local host=$1 port=$2 secs=$3 name=$4 pidfile=$5 i
  for ((i = 0; i < secs * 5; i++)); do
    is_running "$pidfile" || die "$name exited during start-up; see its log under $RIBAO_HOME"
    if port_open "$host" "$port"; then return 0; fi
    sleep 0.2
  done
  die "$name did not open $host:$port within ${secs}s"
}

# stop_pid PIDFILE NAME -> SIGTERM, then SIGKILL after 20 s.
stop_pid() {
  local pidfile=$1 name=$2 pid i
  if ! is_running "$pidfile"; then log "$name: not running"; rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then log "$name: still up after 20s, SIGKILL"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  log "$name: stopped"
}
