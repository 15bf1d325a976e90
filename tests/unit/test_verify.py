from __future__ import annotations

from services.common.verify import gaps


def test_gaps_finds_every_missing_range() -> None:
    assert list(gaps([0, 1, 2, 3], 0, 4)) == []
    assert list(gaps([0, 2, 3, 7], 0, 10)) == [(1, 1), (4, 6), (8, 9)]
    assert list(gaps([], 5, 8)) == [(5, 7)]
    assert list(gaps([1, 2, 99], 2, 4)) == [(3, 3)]  # outside the range: ignored here
