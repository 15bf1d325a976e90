from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from services.common.registry import ALWAYS_FROM, ALWAYS_TO, RegistryError, read_divisions

LEVELS = {
    "provinces": [("34", "安徽省")],
    "cities": [("3408", "安庆市")],
    "areas": [("340826", "宿松县")],
    "streets": [("340826103", "许岭镇")],
}


def write(folder: Path, villages: list[dict[str, str]]) -> None:
    for stem, rows in LEVELS.items():
        with (folder / f"{stem}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["code", "name"])
            w.writerows(rows)
    with (folder / "villages.csv").open("w", newline="", encoding="utf-8") as fh:
        w2 = csv.DictWriter(fh, ["code", "name", "valid_from", "valid_to"])
        w2.writeheader()
        w2.writerows(villages)


def test_a_deployments_registry_with_validity_dates(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            {"code": "340826103001", "name": "许岭社区", "valid_from": "", "valid_to": ""},
            {"code": "340826103300", "name": "新设村", "valid_from": "2020-02-01", "valid_to": ""},
            {"code": "340826103301", "name": "撤并村", "valid_from": "", "valid_to": "2020-01-28"},
        ],
    )
    found = {d.code: d for d in read_divisions(tmp_path)}
    assert len(found) == 1 + 4 + 3  # the country, four levels, three villages
    assert (found["340826103001"].valid_from, found["340826103001"].valid_to) == (ALWAYS_FROM, ALWAYS_TO)
    assert found["340826103300"].valid_from == date(2020, 2, 1)
    assert found["340826103301"].valid_to == date(2020, 1, 28)
    assert found["340826103300"].parent == "340826103000"


def test_bad_rows_name_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, [{"code": "340826103001", "name": "x", "valid_from": "soon", "valid_to": ""}])
    with pytest.raises(RegistryError, match=r"villages.csv line 2: valid_from 'soon'"):
        list(read_divisions(tmp_path))
    write(tmp_path, [{"code": "3408261030", "name": "x", "valid_from": "", "valid_to": ""}])
    with pytest.raises(RegistryError, match=r"villages.csv line 2: bad code"):
        list(read_divisions(tmp_path))
