#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs the project (editable, with the
# dev tools) when missing or when pyproject.toml changed. Installs Java 17,
# Maven, systemd (systemd-analyze: the units of deploy/systemd/ are verified in
# the unit tests) and Prometheus (prometheus, promtool: metrics, alert rules and
# their tests) from Debian when they are missing and we are root; Chromium and a
# CJK font for the dashboard's browser tests, Node.js and npm for the browser
# assets the API serves itself (package.json, pinned by package-lock.json: npm ci).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$REPO_DIR/.venv"
STAMP="$VENV/.installed-pyproject.sha256"

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v chromium >/dev/null || need_apt+=(chromium)
# the dashboard is in Chinese: without a CJK font Chromium draws boxes in the screenshots
fc-list :lang=zh 2>/dev/null | grep -q . || need_apt+=(fonts-wqy-microhei)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]})"
  log "bootstrap: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "missing prometheus: install it (apt-get install prometheus)"
  log "bootstrap: installing prometheus"
  # without recommends (node exporter and its collectors); Debian's service is not started here
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

PY="${RIBAO_PYTHON:-}"
if [[ -z "$PY" ]]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$(command -v "$candidate"); break
    fi
  done
fi
[[ -n "$PY" ]] || die "Python 3.11 not found (set RIBAO_PYTHON to its path)"

want=$(sha256sum "$REPO_DIR/pyproject.toml" | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  log "bootstrap: installing the project into $VENV"
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -e "$REPO_DIR[dev]"
  echo "$want" > "$STAMP"
fi

# the dashboard's charts and /docs' Swagger UI (node_modules/, served by the API);
# --ignore-scripts: no install script runs (swagger-ui-dist's analytics would call out)
LOCK_STAMP="$REPO_DIR/node_modules/.installed-lock.sha256"
want_lock=$(sha256sum "$REPO_DIR/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$LOCK_STAMP" || "$(cat "$LOCK_STAMP")" != "$want_lock" ]]; then
  log "bootstrap: installing the browser assets (npm ci)"
  (cd "$REPO_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want_lock" > "$LOCK_STAMP"
fi
