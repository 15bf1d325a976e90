"""Prometheus for the local stack: Debian's `prometheus`, scraping the three
services with deploy/prometheus/prometheus.yml and its rules.

`render` writes a copy of that config with the ports actually configured
(and, for tests, a shorter interval); `command` is how the stack and the
tests start it: loopback only, its data in a folder of its own.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from services.common.config import REPO_DIR

CONFIG_DIR = REPO_DIR / "deploy" / "prometheus"
CONFIG = CONFIG_DIR / "prometheus.yml"
RULES = CONFIG_DIR / "rules.yml"
#: the targets deploy/prometheus/prometheus.yml names (the services' default ports)
DEFAULT_TARGETS = {"ingest": "127.0.0.1:8081", "api": "127.0.0.1:8080", "aggregator": "127.0.0.1:8082"}


class PrometheusMissing(Exception):
    pass


@dataclass(frozen=True)
class Targets:
    ingest: str
    api: str
    aggregator: str


def binary(name: str = "prometheus") -> str:
    """The path of `prometheus` or `promtool` (deploy/bootstrap.sh installs them)."""
    found = shutil.which(name)
    if found is None:
        raise PrometheusMissing(f"{name} not found: install Debian's prometheus (deploy/bootstrap.sh does)")
    return found


def render(targets: Targets, interval: str | None = None) -> str:
    """deploy/prometheus/prometheus.yml with these targets, the rules by absolute
    path and, when given, another scrape and evaluation interval."""
    text = CONFIG.read_text("utf-8")
    for name, default in DEFAULT_TARGETS.items():
        if f'"{default}"' not in text:
            raise ValueError(f"{CONFIG} no longer names {default} for {name}")
        text = text.replace(f'"{default}"', f'"{getattr(targets, name)}"')
    text = text.replace("  - rules.yml", f"  - {RULES}")
    if interval is not None:
        text = text.replace("scrape_interval: 15s", f"scrape_interval: {interval}")
        text = text.replace("evaluation_interval: 15s", f"evaluation_interval: {interval}")
    return text


def command(config: Path, data: Path, listen: str) -> list[str]:
    """The prometheus command line: `listen` is host:port (keep it on loopback)."""
    return [
        binary(),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address={listen}",
        "--storage.tsdb.retention.time=15d",
        "--log.level=warn",
    ]
