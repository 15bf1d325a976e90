"""Registry look-ups: a jurisdiction and its children."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import codes
from services.api.errors import UnknownJurisdiction
from services.api.store import ReadStore

DIVISION = "SELECT code, name, level, parent FROM divisions WHERE code = %(code)s LIMIT 1"
#: a child's code lies in its parent's subtree range (the registry loader
#: derives `parent` from the code: services/common/registry.py), so the range
#: lets ClickHouse read only that part of the primary key instead of the whole
#: registry (a county's villages: 41 ms p50 before, on the 1 M bench database)
CHILDREN = """
SELECT code, name, level FROM divisions
WHERE code >= %(lo)s AND code <= %(hi)s AND parent = %(code)s ORDER BY code"""


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
    lo, hi = codes.subtree_range(code)
    rows = store.query(CHILDREN, {"code": code, "lo": lo, "hi": hi})
    return [Division(c, n, lv, code) for c, n, lv in rows]
