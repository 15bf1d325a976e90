"""deploy/systemd/: every unit passes `systemd-analyze verify` without a word
(with /opt/ribao pointed at this checkout, whose .venv holds `ribao`), the
ClickHouse drop-in applies cleanly to Debian's own unit, each unit runs a real
`ribao` command, and the example EnvironmentFile sets only settings that exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from services.aggregator.config import AggregatorSettings
from services.api.config import ApiSettings
from services.common.config import REPO_DIR
from services.ingest.config import IngestSettings

UNITS_DIR = REPO_DIR / "deploy" / "systemd"
DEBIAN_CLICKHOUSE_UNIT = Path("/lib/systemd/system/clickhouse-server.service")


def _missing(msg: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        _missing("systemd-analyze not found: deploy/bootstrap.sh installs Debian's systemd")
    assert found is not None
    return found


def installed_copy(tmp: Path) -> Path:
    """The units as installed, but with /opt/ribao (the checkout and its .venv)
    pointing at this checkout, so that verify finds the executables."""
    out = tmp / "units"
    shutil.copytree(UNITS_DIR, out)
    for path in out.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text("utf-8").replace("/opt/ribao", str(REPO_DIR)), "utf-8")
    return out


def verify(folder: Path, *units: str) -> str:
    """`systemd-analyze verify` of the units in folder; its whole output (empty when clean)."""
    result = subprocess.run(
        [systemd_analyze(), "verify", *(f"./{u}" for u in units)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = (result.stdout + result.stderr).strip()
    return output if result.returncode == 0 or output else f"exit {result.returncode}"


def unit_names() -> list[str]:
    """Every unit file; a template is verified as its instance 1."""
    return sorted(p.name.replace("@.", "@1.") for p in UNITS_DIR.glob("*.service"))


def test_the_units_are_the_services_and_the_infrastructure() -> None:
    assert unit_names() == [
        "kafka.service",
        "ribao-aggregator@1.service",
        "ribao-api.service",
        "ribao-ingest.service",
        "ribao-setup.service",
        "zookeeper.service",
    ]


def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    folder = installed_copy(tmp_path)
    assert verify(folder, *unit_names()) == ""


def test_verify_reports_a_mistake_in_a_unit(tmp_path: Path) -> None:
    folder = installed_copy(tmp_path)
    unit = folder / "ribao-api.service"
    unit.write_text(unit.read_text("utf-8").replace("LimitNOFILE=65536", "LimitNOFILE=many"), "utf-8")
    assert "ribao-api.service:" in (said := verify(folder, "ribao-api.service")) and "parse" in said


def test_the_clickhouse_drop_in_applies_to_debians_unit(tmp_path: Path) -> None:
    if not DEBIAN_CLICKHOUSE_UNIT.exists():
        _missing(f"{DEBIAN_CLICKHOUSE_UNIT} not found: install Debian's clickhouse-server")
    folder = installed_copy(tmp_path)
    shutil.copy(DEBIAN_CLICKHOUSE_UNIT, folder)
    assert verify(folder, "clickhouse-server.service") == ""
    drop_in = folder / "clickhouse-server.service.d" / "ribao.conf"
    drop_in.write_text(drop_in.read_text("utf-8") + "RestartSec=soon\n", "utf-8")
    said = verify(folder, "clickhouse-server.service")
    assert "ribao.conf:" in said and "parse" in said


def test_each_ribao_unit_runs_a_ribao_command() -> None:
    from typer.main import get_command

    from services.cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for unit in UNITS_DIR.glob("ribao-*.service"):
        found = re.search(r"^ExecStart=/opt/ribao/\.venv/bin/ribao (\S+)$", unit.read_text("utf-8"), re.M)
        assert found, unit.name
        assert found.group(1) in commands, unit.name


def test_the_environment_file_sets_only_settings_that_exist() -> None:
    fields = {
        f"RIBAO_{name.upper()}"
        for cls in (IngestSettings, ApiSettings, AggregatorSettings)
        for name in cls.model_fields
    }
    names = set()
    for unit in [UNITS_DIR / "ribao.env", *UNITS_DIR.glob("ribao-*.service")]:
        names |= set(re.findall(r"^(?:Environment=)?(RIBAO_[A-Z0-9_]+)=", unit.read_text("utf-8"), re.M))
    assert names, "no RIBAO_ setting found"
    assert names - fields == set()
    assert {"RIBAO_HMAC_KEY", "RIBAO_DEV_MODE", "RIBAO_KAFKA_BOOTSTRAP", "RIBAO_AGGREGATOR_ID"} <= names
