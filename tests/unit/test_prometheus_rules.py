"""deploy/prometheus/: the rules pass `promtool check rules`, their unit tests
(rules.test.yml: the freshness alert fires, among others) pass `promtool test
rules`, and the stack's rendered config is valid and points at the ports given."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from services.prometheus import CONFIG_DIR, RULES, Targets, render


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        msg = "promtool not found: deploy/bootstrap.sh installs Debian's prometheus"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return found


def run(*args: str) -> str:
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=CONFIG_DIR, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 10 rules found" in run("check", "rules", str(RULES))


def test_the_rules_unit_tests_pass_the_freshness_alert_among_them() -> None:
    tests = (CONFIG_DIR / "rules.test.yml").read_text("utf-8")
    assert "alertname: RibaoFiguresStale" in tests
    assert "SUCCESS" in run("test", "rules", "rules.test.yml")


def test_the_rendered_scrape_config_is_valid_and_names_the_ports(tmp_path: Path) -> None:
    text = render(Targets("127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"), interval="1s")
    for port in ("1001", "1002", "1003"):
        assert f'"127.0.0.1:{port}"' in text
    assert "8081" not in text and "scrape_interval: 1s" in text
    path = tmp_path / "prometheus.yml"
    path.write_text(text, "utf-8")
    run("check", "config", str(path))


def test_the_stack_renders_its_config_with_the_configured_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.stack import prometheus_service

    monkeypatch.setenv("RIBAO_HOME", str(tmp_path))
    svc = prometheus_service(18081, 18080, 18082, 19090)
    assert svc.ready_url == "http://127.0.0.1:19090/-/ready"
    assert "--web.listen-address=127.0.0.1:19090" in svc.command
    config = tmp_path / "prometheus" / "prometheus.yml"
    assert f"--config.file={config}" in svc.command
    assert all(f'"127.0.0.1:{port}"' in config.read_text() for port in (18081, 18080, 18082))
    run("check", "config", str(config))
