"""Registry look-ups: a jurisdiction and its children."""

from __future__ import annotations

from dataclasses import dataclass

from services.api.errors import UnknownJurisdiction
from services.api.store import ReadStore

DIVISION = "SELECT code, name, level, parent FROM divisions WHERE code = %(code)s LIMIT 1"
CHILDREN = "SELECT code, name, level FROM divisions WHERE parent = %(code)s ORDER BY code"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str


def division(store: ReadStore, code: str) -> Division:
    rows = store.query(DIVISION, {"code": code})
    if not rows:
        raise UnknownJurisdiction(code)
    return Division(*rows[0])


def children(store: ReadStore, code: str) -> list[Division]:
    return [Division(c, n, lv, code) for c, n, lv in store.query(CHILDREN, {"code": code})]
