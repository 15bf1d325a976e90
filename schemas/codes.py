"""Statistical division codes (统计用区划代码): normalisation and hierarchy.

A code is always held as a 12-digit string. Levels by significant digits:
province 2, city 4, county 6, town 9, village 12; `000000000000` is the
country. The parent of a code zeroes its last level, and the descendants of a
code are exactly the 12-digit strings that share its significant prefix, so a
subtree is one contiguous range of codes.
"""

from __future__ import annotations

import re
from typing import Literal

Level = Literal["country", "province", "city", "county", "town", "village"]

COUNTRY = "000000000000"
LEVELS: tuple[Level, ...] = ("country", "province", "city", "county", "town", "village")
#: significant digits of each level
DIGITS: dict[Level, int] = {
    "country": 0,
    "province": 2,
    "city": 4,
    "county": 6,
    "town": 9,
    "village": 12,
}
_INPUT = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")


class CodeError(ValueError):
    """A string that is not a division code of 2, 4, 6, 9 or 12 digits."""


def normalize(raw: str) -> str:
    """Right-pads a 2/4/6/9/12-digit code to 12 digits (`340826103` -> `340826103000`)."""
    if not isinstance(raw, str) or not _INPUT.fullmatch(raw):
        raise CodeError("a division code has 2, 4, 6, 9 or 12 digits")
    code = raw.ljust(12, "0")
    if code != COUNTRY and code[:2] == "00":
        raise CodeError("a province code cannot be 00")
    return code


def level_of(code: str) -> Level:
    """The level of a normalised code, from its significant digits."""
    if code == COUNTRY:
        return "country"
    for level in ("province", "city", "county", "town"):
        if code[DIGITS[level] :].strip("0") == "":
            return level
    return "village"


def significant(code: str) -> str:
    """The significant prefix of a normalised code (`340826000000` -> `340826`)."""
    return code[: DIGITS[level_of(code)]]


def parent_of(code: str) -> str | None:
    """The parent of a normalised code; None for the country."""
    level = level_of(code)
    if level == "country":
        return None
    up = LEVELS[LEVELS.index(level) - 1]
    return code[: DIGITS[up]].ljust(12, "0")


def ancestors(code: str) -> list[str]:
    """The code itself and every ancestor up to the country, nearest first."""
    out = [code]
    parent = parent_of(code)
    while parent is not None:
        out.append(parent)
        parent = parent_of(parent)
    return out


def subtree_range(code: str) -> tuple[str, str]:
    """Inclusive bounds of the 12-digit codes of `code` and all its descendants."""
    prefix = significant(code)
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


def is_within(code: str, scope: str) -> bool:
    """Whether `code` is `scope` or one of its descendants."""
    return code.startswith(significant(scope))


def partition_key(code: str) -> str:
    """The Kafka key of an event: its county (the first 6 digits of its code).

    All events of one county share a key, hence a partition and an order.
    Events attributed above county level key on their own prefix.
    """
    return code[:6]
